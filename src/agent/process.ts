import { spawn } from "node:child_process";

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Caps captured output so a chatty plugin cannot exhaust memory. */
  maxOutputBytes?: number;
}

/**
 * Runs a command to completion, capturing its output. On abort the whole process group gets
 * SIGTERM, then SIGKILL after 2 s, so a plugin's children (apt, dpkg) do not outlive it.
 */
export function runCommand(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error("empty command"));
  const max = opts.maxOutputBytes ?? 4 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason);
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    // decoded by the streams, so a character cut between two reads is not mangled
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      if (stdout.length < max) stdout += d;
    });
    child.stderr.on("data", (d: string) => {
      if (stderr.length < max) stderr += d;
    });
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      killGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), 2000);
      killTimer.unref();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.once("error", (e) => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.once("close", (code, sig) => {
      clearTimeout(killTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      resolve({ code, signal: sig, stdout, stderr });
    });
  });
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

/** A failure message for a command that did not exit 0: its stderr, else its exit status. */
export function failureOf(argv: string[], r: RunResult): string {
  const err = r.stderr.trim() || r.stdout.trim();
  const status = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
  return err ? err : `${argv.join(" ")} failed (${status})`;
}
