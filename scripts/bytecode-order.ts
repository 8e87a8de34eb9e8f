/**
 * Profile-guided bytecode layout for the Bun binaries (`bun build --bytecode-order`). A first build is
 * run the way a gateway runs it — `ledge --version`, `ledge --help`, and `ledge run` until it is up —
 * with BUN_BYTECODE_ORDER_OUT set; the final build places the bytecode those runs used at the front of
 * the executable, so a start reads and decodes less of it: less RSS and a faster start
 * (bench/RESULTS.md, footprint). The profile holds function hashes only; the layout changes, the
 * program does not.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Runs `argv` prefixed by `cmd` (e.g. qemu for a foreign binary). */
export type Launch = (args: string[]) => [string, string[]];

const RUN_UP_MS = 60_000;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** `ledge run` on a scratch config until it logs that it is up, then SIGTERM. */
async function recordRun(launch: Launch, env: NodeJS.ProcessEnv): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ledge-order-"));
  try {
    mkdirSync(join(dir, "data"));
    const [mqtt, http] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, "ledge.toml"),
      `[mqtt.bind]\nport = ${mqtt}\n[mqtt.client]\nport = ${mqtt}\n[http.bind]\nport = ${http}\n[data]\npath = ${JSON.stringify(join(dir, "data"))}\n`,
    );
    const [cmd, args] = launch(["--config-dir", dir, "run"]);
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`ledge run not up in ${RUN_UP_MS} ms:\n${out}`)),
        RUN_UP_MS,
      );
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes("ledge running")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`ledge run exited (${code}) before it was up:\n${out}`));
      });
    });
    child.kill("SIGTERM");
    await exited;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Records the profiles into `dir` and returns their files, `ledge run`'s first (the way that
 * matters most). Throws when a run fails or writes no profile: a build must not silently lose it.
 */
export async function recordBytecodeOrder(launch: Launch, dir: string): Promise<string[]> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const envFor = (name: string) => ({ ...process.env, BUN_BYTECODE_ORDER_OUT: join(dir, `${name}.order`) });
  await recordRun(launch, envFor("run"));
  for (const [name, args] of [
    ["version", ["--version"]],
    ["help", ["--help"]],
  ] as const) {
    const [cmd, argv] = launch([...args]);
    const r = spawnSync(cmd, argv, { env: envFor(name), stdio: "ignore" });
    if (r.status !== 0) throw new Error(`ledge ${args.join(" ")} exited ${r.status} while recording`);
  }
  const files = ["run", "version", "help"].map((n) => join(dir, `${n}.order`));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length)
    throw new Error(`no bytecode profile written: ${missing.join(", ")} (in ${readdirSync(dir).join(", ")})`);
  return files;
}
