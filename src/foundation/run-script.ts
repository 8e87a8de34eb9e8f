import { constants } from "node:os";
import { lazy } from "./builtin.ts";

/** How a script ended. */
export type ScriptResult =
  | { kind: "exit"; code: number; stdout: string; stderr?: string }
  | { kind: "killed"; signal: string; signo: number; stdout: string; stderr: string; timedOut: boolean }
  | { kind: "launch-error"; error: string };

const MAX_OUTPUT = 4 * 1024 * 1024;

export interface ScriptOptions {
  /** Graceful limit: SIGTERM to the process group. */
  timeoutS?: number;
  /** Seconds from SIGTERM to SIGKILL after the timeout; default max(60, timeout/20) as thin-edge. */
  forcefulS?: number;
  /** Ends the script at once (command cleared, agent stopping). */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Caps captured output so a chatty command cannot exhaust memory (default 4 MiB per stream). */
  maxOutputBytes?: number;
}

/**
 * Runs a script or operation command (no shell) to its end. At `timeoutS` its process group gets SIGTERM and,
 * max(60 s, timeout/20) later, SIGKILL, as thin-edge does; a script killed that way ends
 * `killed`, so the state's `on_kill` decides where the command goes.
 */
export function runScript(argv: string[], opts: ScriptOptions = {}): Promise<ScriptResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.resolve({ kind: "launch-error", error: "empty command line" });
  const max = opts.maxOutputBytes ?? MAX_OUTPUT;
  return new Promise((resolve) => {
    const child = lazy.childProcess().spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    // decoded by the streams, so a character cut between two reads is not mangled
    child.stdout.on("data", (d: string) => {
      if (stdout.length < max) stdout += d;
    });
    child.stderr.on("data", (d: string) => {
      if (stderr.length < max) stderr += d;
    });
    const timers: NodeJS.Timeout[] = [];
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const term = () => {
      timedOut = true;
      kill("SIGTERM");
      const s = opts.timeoutS ?? 0;
      timers.push(setTimeout(() => kill("SIGKILL"), (opts.forcefulS ?? Math.max(60, s / 20)) * 1000));
    };
    if (opts.timeoutS) timers.push(setTimeout(term, opts.timeoutS * 1000));
    const onAbort = () => {
      kill("SIGTERM");
      timers.push(setTimeout(() => kill("SIGKILL"), 2000));
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const done = (r: ScriptResult) => {
      for (const t of timers) clearTimeout(t);
      opts.signal?.removeEventListener("abort", onAbort);
      resolve(r);
    };
    child.once("error", (e) => done({ kind: "launch-error", error: e.message }));
    child.once("close", (code, sig) => {
      if (sig)
        done({ kind: "killed", signal: sig, signo: constants.signals[sig] ?? 0, stdout, stderr, timedOut });
      else done({ kind: "exit", code: code ?? 0, stdout, stderr });
    });
  });
}

/** Starts a detached background script and forgets it (thin-edge's `background_script`). */
export function startBackground(argv: string[], env?: NodeJS.ProcessEnv): string | undefined {
  const [cmd, ...args] = argv;
  if (!cmd) return "empty command line";
  try {
    const child = lazy.childProcess().spawn(cmd, args, {
      env: env ?? process.env,
      stdio: "ignore",
      detached: true,
    });
    child.on("error", () => {});
    child.unref();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
