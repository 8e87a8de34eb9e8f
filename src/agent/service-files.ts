import { existsSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export type InitSystem = "systemd" | "openrc" | "sysv";

export interface ServiceOptions {
  /** argv that starts ledge (see ledgeCommand()). */
  command: string[];
  configDir: string;
  /** systemd watchdog; ledge sends keepalives at half this period. */
  watchdogSec?: number;
  user?: string;
  /** Service name (unit `<name>.service`, `/etc/init.d/<name>`). */
  name?: string;
}

export interface ServiceFile {
  path: string;
  content: string;
  mode: number;
}

/** The init system of this machine, as `ledge init --service` should target. */
export function detectInit(root = "/"): InitSystem {
  if (existsSync(join(root, "run/systemd/system"))) return "systemd";
  if (existsSync(join(root, "sbin/openrc-run"))) return "openrc";
  return "sysv";
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** systemd quoting: double quotes with escaped `\`, `"` and `%` (specifier) characters. */
function unitQuote(s: string): string {
  const esc = s.replace(/%/g, "%%");
  return /^[\w@%+=:,./-]+$/.test(esc) ? esc : `"${esc.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function systemdUnit(o: ServiceOptions): string {
  const exec = [...o.command, "run", "--config-dir", o.configDir].map(unitQuote).join(" ");
  return `[Unit]
Description=ledge IoT edge agent (thin-edge te/ API, cloud mappers, device management)
Documentation=https://github.com/ledge/ledge
Wants=network-online.target
After=network-online.target

[Service]
# ledge sends READY=1 and WATCHDOG=1 through systemd-notify, a child process: hence NotifyAccess=all.
Type=notify
NotifyAccess=all
ExecStart=${exec}
Environment=LEDGE_CONFIG_DIR=${unitQuote(o.configDir)}
${o.user ? `User=${o.user}\n` : ""}WatchdogSec=${o.watchdogSec ?? 60}
Restart=always
RestartSec=5
TimeoutStartSec=120
TimeoutStopSec=30
# SIGTERM to ledge first (graceful stop), then whatever is left (plugins) is killed.
KillMode=mixed

[Install]
WantedBy=multi-user.target
`;
}

export function openrcScript(o: ServiceOptions): string {
  const [cmd, ...pre] = o.command;
  const args = [...pre, "run", "--config-dir", o.configDir].map(shellQuote).join(" ");
  const name = o.name ?? "ledge";
  return `#!/sbin/openrc-run
# ledge under OpenRC's supervise-daemon, which restarts it if it dies.
name="${name}"
description="ledge IoT edge agent"
supervisor=supervise-daemon
command=${shellQuote(cmd ?? "ledge")}
command_args="${args.replace(/"/g, '\\"')}"
${o.user ? `command_user="${o.user}"\n` : ""}pidfile="/run/${name}.pid"
respawn_delay=5
respawn_max=0
output_log="/var/log/${name}.log"
error_log="/var/log/${name}.log"
export LEDGE_CONFIG_DIR=${shellQuote(o.configDir)}

depend() {
  need net
  after firewall
}
`;
}

/**
 * A plain init script for devices with neither systemd nor OpenRC: a small respawn loop in sh
 * (start, stop, restart, status), so ledge comes back if it dies, like under a supervisor.
 */
export function sysvScript(o: ServiceOptions): string {
  const name = o.name ?? "ledge";
  const cmd = [...o.command, "run", "--config-dir", o.configDir].map(shellQuote).join(" ");
  const runAs = o.user ? `su -s /bin/sh ${shellQuote(o.user)} -c ${shellQuote(cmd)}` : cmd;
  return `#!/bin/sh
### BEGIN INIT INFO
# Provides:          ${name}
# Required-Start:    $network $remote_fs
# Required-Stop:     $network $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: ledge IoT edge agent
### END INIT INFO
PIDFILE=/run/${name}.pid
LOOPPID=/run/${name}-respawn.pid
LOG=/var/log/${name}.log
export LEDGE_CONFIG_DIR=${shellQuote(o.configDir)}
# The respawn loop below restarts ledge after a self-update; on rollback the watcher restarts it here.
export LEDGE_AGENT_SELF_UPDATE_RESTART=supervisor
export LEDGE_AGENT_SELF_UPDATE_SUPERVISOR_RESTART='["/etc/init.d/${name}","restart"]'

running() { [ -f "$LOOPPID" ] && kill -0 "$(cat "$LOOPPID")" 2>/dev/null; }

start() {
  if running; then echo "${name} is already running"; return 0; fi
  (
    trap 'kill "$(cat "$PIDFILE" 2>/dev/null)" 2>/dev/null; rm -f "$PIDFILE"; exit 0' TERM
    while :; do
      ${runAs} >>"$LOG" 2>&1 &
      echo $! > "$PIDFILE"
      wait $!
      echo "$(date -u) ${name} exited with $?, restarting in 5 s" >>"$LOG"
      sleep 5
    done
  ) </dev/null >/dev/null 2>&1 &
  echo $! > "$LOOPPID"
  echo "${name} started"
}

stop() {
  if ! running; then echo "${name} is not running"; rm -f "$LOOPPID" "$PIDFILE"; return 0; fi
  kill "$(cat "$LOOPPID")"
  i=0
  while running && [ "$i" -lt 30 ]; do sleep 1; i=$((i + 1)); done
  rm -f "$LOOPPID" "$PIDFILE"
  echo "${name} stopped"
}

case "$1" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then echo "${name} is running"; else echo "${name} is stopped"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
`;
}

/** The files `ledge init --service` installs for an init system, with their paths under `root`. */
export function serviceFiles(init: InitSystem, o: ServiceOptions, root = "/"): ServiceFile[] {
  const name = o.name ?? "ledge";
  switch (init) {
    case "systemd":
      return [
        { path: join(root, "etc/systemd/system", `${name}.service`), content: systemdUnit(o), mode: 0o644 },
      ];
    case "openrc":
      return [{ path: join(root, "etc/init.d", name), content: openrcScript(o), mode: 0o755 }];
    case "sysv":
      return [{ path: join(root, "etc/init.d", name), content: sysvScript(o), mode: 0o755 }];
  }
}

/** Writes the service files; returns what was written and the command that enables the service. */
export async function installServiceFiles(
  init: InitSystem,
  o: ServiceOptions,
  root = "/",
): Promise<{ files: string[]; enable: string }> {
  const files = serviceFiles(init, o, root);
  for (const f of files) {
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, f.content, { mode: f.mode });
    await chmod(f.path, f.mode);
  }
  const name = o.name ?? "ledge";
  const enable =
    init === "systemd"
      ? `systemctl daemon-reload && systemctl enable --now ${name}`
      : init === "openrc"
        ? `rc-update add ${name} default && rc-service ${name} start`
        : `update-rc.d ${name} defaults && /etc/init.d/${name} start`;
  return { files: files.map((f) => f.path), enable };
}
