import { runScript, type ScriptOptions } from "../foundation/run-script.ts";

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** What a command needs besides its argv (the script runner's options, without timeouts). */
export type RunOptions = Omit<ScriptOptions, "timeoutS" | "forcefulS">;

/**
 * Runs a command to completion, capturing its output (`runScript` underneath). On abort the whole
 * process group gets SIGTERM, then SIGKILL after 2 s, so a plugin's children (apt, dpkg) do not
 * outlive it, and the promise rejects with the abort reason; a command that cannot start rejects.
 */
export async function runCommand(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!argv[0]) throw new Error("empty command");
  if (opts.signal?.aborted) throw opts.signal.reason;
  const r = await runScript(argv, opts);
  if (opts.signal?.aborted) throw opts.signal.reason;
  if (r.kind === "launch-error") throw new Error(`cannot run ${argv[0]}: ${r.error}`);
  return r.kind === "exit"
    ? { code: r.code, signal: null, stdout: r.stdout, stderr: r.stderr ?? "" }
    : { code: null, signal: r.signal as NodeJS.Signals, stdout: r.stdout, stderr: r.stderr };
}

/** A failure message for a command that did not exit 0: its stderr, else its exit status. */
export function failureOf(argv: string[], r: RunResult): string {
  const err = r.stderr.trim() || r.stdout.trim();
  const status = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
  return err ? err : `${argv.join(" ")} failed (${status})`;
}
