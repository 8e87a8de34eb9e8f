/**
 * The rollback watcher: a POSIX sh script, because it must not depend on the binary it guards.
 * It waits for the old ledge to exit, (exec mode) starts the new binary, and waits for the
 * confirm file that a healthy new ledge writes when its agent has started. Without it in time it
 * kills the new one, restores `<target>.prev` atomically (copy + rename), records `rolled-back`
 * in the result file and starts the previous binary again (exec mode) or runs the supervisor's
 * restart command (supervisor mode).
 *
 * Arguments: MODE OLD_PID TARGET PREV CONFIRM RESULT TIMEOUT_S [ARGS...], where ARGS are the
 * ledge arguments (exec) or the restart command (supervisor).
 */
export const WATCHER_SCRIPT = `#!/bin/sh
mode=$1 old=$2 target=$3 prev=$4 confirm=$5 result=$6 timeout=$7
shift 7
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) ledge-update-watch: $*" >&2; }
start_target() {
  LEDGE_UPDATE_CONFIRM="$confirm" nohup "$target" "$@" </dev/null >/dev/null 2>&1 &
  child=$!
}
i=0
while kill -0 "$old" 2>/dev/null; do
  i=$((i + 1))
  [ "$i" -eq 150 ] && { log "old process $old still running after 30 s, killing it"; kill -9 "$old" 2>/dev/null; }
  sleep 0.2
done
child=""
if [ "$mode" = exec ]; then
  log "starting the new binary $target"
  start_target "$@"
fi
n=0
limit=$((timeout * 5))
while [ "$n" -lt "$limit" ] && [ ! -f "$confirm" ]; do
  sleep 0.2
  n=$((n + 1))
done
if [ -f "$confirm" ]; then
  log "new binary confirmed healthy"
  echo confirmed > "$result"
  exit 0
fi
log "new binary not healthy within $timeout s: rolling back to $prev"
if [ -n "$child" ]; then
  kill "$child" 2>/dev/null
  sleep 1
  kill -9 "$child" 2>/dev/null
fi
if cp -p "$prev" "$target.rollback" && mv -f "$target.rollback" "$target"; then
  echo rolled-back > "$result"
else
  echo rollback-failed > "$result"
  exit 1
fi
if [ "$mode" = exec ]; then
  start_target "$@"
elif [ $# -gt 0 ]; then
  "$@"
fi
exit 0
`;

export interface WatchArgs {
  mode: "exec" | "supervisor";
  oldPid: number;
  target: string;
  prev: string;
  confirm: string;
  result: string;
  timeoutS: number;
  /** exec: ledge's arguments; supervisor: the restart command. */
  rest: string[];
}

export function watcherArgv(script: string, a: WatchArgs): string[] {
  return [
    "/bin/sh",
    script,
    a.mode,
    String(a.oldPid),
    a.target,
    a.prev,
    a.confirm,
    a.result,
    String(a.timeoutS),
    ...a.rest,
  ];
}
