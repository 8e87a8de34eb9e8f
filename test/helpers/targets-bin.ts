/**
 * Runs the compiled binaries (dist/ledge-<target>) in tests and benchmarks: natively or under
 * qemu-user with the target's sysroot, builds them first when missing or older than the sources.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { outputPath, type Target, targetByName } from "../../targets/index.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The Bun of the checkout (the npm `bun` package), for running TypeScript under Bun in tests. */
export const BUN = join(ROOT, "node_modules", ".bin", "bun");

export function target(name: string): Target {
  const t = targetByName(name);
  if (!t) throw new Error(`no target ${name}`);
  return t;
}

export function binaryOf(t: Target): string {
  return join(ROOT, outputPath(t));
}

/** Why the binary of `t` cannot run on this host (not built, no qemu sysroot), or false: a `skip` value. */
export function unavailable(t: Target): string | false {
  const bin = binaryOf(t);
  if (!existsSync(bin)) return `${bin} not built (npm run build)`;
  if (t.emulation && !existsSync(t.emulation.sysroot))
    return `qemu sysroot for ${t.name} missing (scripts/test-deps.sh)`;
  return false;
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function staleTargets(names: string[]): string[] {
  const sources = ["src", "targets", "build.ts", "package-lock.json"].map((p) => join(ROOT, p));
  const newestSource = Math.max(...sources.filter(existsSync).map(newestMtime));
  return names.filter((n) => {
    const bin = binaryOf(target(n));
    return !existsSync(bin) || statSync(bin).mtimeMs < newestSource;
  });
}

/**
 * Builds the targets whose binary is missing or older than src/, targets/, build.ts or the lockfile
 * (`npm test` builds first, so this is for running one test file alone). Test files run in parallel
 * processes, so builds are serialized by a lock directory.
 */
export function ensureBuilt(names: string[]): void {
  if (!staleTargets(names).length) return;
  const lock = join(ROOT, "dist", ".build-lock");
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // a lock left by a killed run is stale after 5 minutes
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000)
        rmSync(lock, { recursive: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    const stale = staleTargets(names);
    if (!stale.length) return;
    const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "build.ts"), ...stale], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 240_000,
    });
    if (r.status !== 0) throw new Error(`npm run build ${stale.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** argv that runs the binary of `t` on this host. */
export function commandFor(t: Target, args: string[]): [string, string[]] {
  const bin = binaryOf(t);
  if (!t.emulation) return [bin, args];
  return [t.emulation.qemu, ["-L", t.emulation.sysroot, bin, ...args]];
}

/** An environment without the caller's LEDGE_* overrides, so only the test's config counts. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("LEDGE_")) env[k] = v;
  return { ...env, ...extra };
}

/** A temp config dir whose ledge.toml puts the embedded broker and the clients on `port`. */
export function tempConfigDir(port: number): { dir: string; dataDir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ledge-target-"));
  const dataDir = join(dir, "data");
  mkdirSync(dataDir);
  writeFileSync(
    join(dir, "ledge.toml"),
    [
      "[mqtt.bind]",
      `port = ${port}`,
      "[mqtt.client]",
      `port = ${port}`,
      "[data]",
      `path = ${JSON.stringify(dataDir)}`,
      "",
    ].join("\n"),
  );
  return { dir, dataDir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
}

/** Runs any command to completion (killed after `timeoutMs`), collecting its output. */
export function runCommand(
  cmd: string,
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: opts.cwd,
      env: opts.env ?? cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output });
    });
  });
}

/** Runs the binary to completion (killed after `timeoutMs`). */
export function runBinary(
  t: Target,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Result> {
  const [cmd, argv] = commandFor(t, args);
  return runCommand(cmd, argv, opts);
}

/** The lines of `text` that are JSON objects: how the hw-test suites report each check to a parent. */
export function jsonLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as T);
}

export interface Daemon {
  proc: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

/** Starts a long-running ledge (run, broker); the caller waits for readiness. */
export function startBinary(t: Target, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Daemon {
  const [cmd, argv] = commandFor(t, args);
  return startCommand(cmd, argv, env);
}

/** Starts any long-running command (a binary variant, `node dist/ledge.mjs`) as a Daemon. */
export function startCommand(cmd: string, argv: string[], env: NodeJS.ProcessEnv = cleanEnv()): Daemon {
  const proc = spawn(cmd, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    proc,
    output: () => out,
    async stop(graceMs = 5_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
