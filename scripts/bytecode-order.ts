/**
 * Profile-guided bytecode layout for the Bun binaries (`bun build --bytecode-order`). A first build is
 * run the way a gateway runs it — `ledge run` until it is up, the same with a Cumulocity connection,
 * `ledge --version`, `ledge --help` —
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

/**
 * A Cumulocity connection as `ledge connect c8y` leaves it (mapper and bridge on, a device
 * certificate), to a port where nothing listens: the mapper's and the bridge's start-up and first
 * connection attempt, with no cloud needed at build time.
 */
async function cloudConfig(launch: Launch, dir: string): Promise<void> {
  const certs = join(dir, "certs");
  const cert = join(certs, "device.pem");
  const key = join(certs, "device.key");
  const closed = await freePort();
  const text = `[device]\nid = "order-gw"\ncert_path = ${JSON.stringify(cert)}\nkey_path = ${JSON.stringify(key)}\n[c8y]\nurl = "127.0.0.1:${closed}"\n[bridge.c8y]\nenable = true\n[run]\ncomponents = ["api", "agent", "c8y-mapper", "bridge"]\n`;
  mkdirSync(certs, { recursive: true });
  const [cmd, argv] = launch(["--config-dir", dir, "cert", "create", "--device-id", "order-gw"]);
  writeFileSync(join(dir, "ledge.toml"), text, { flag: "a" });
  const r = spawnSync(cmd, argv, { stdio: "pipe", encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ledge cert create exited ${r.status} while recording: ${r.stderr}`);
}

/** `ledge run` on a scratch config until it logs that it is up (and `settleMs` more), then SIGTERM. */
async function recordRun(launch: Launch, env: NodeJS.ProcessEnv, cloud = false, settleMs = 0): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ledge-order-"));
  try {
    mkdirSync(join(dir, "data"));
    const [mqtt, http] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, "ledge.toml"),
      `[mqtt.bind]\nport = ${mqtt}\n[mqtt.client]\nport = ${mqtt}\n[http.bind]\nport = ${http}\n[data]\npath = ${JSON.stringify(join(dir, "data"))}\n`,
    );
    if (cloud) await cloudConfig(launch, dir);
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
    await new Promise((r) => setTimeout(r, settleMs));
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
  // long enough for the bridge's first connection attempt
  await recordRun(launch, envFor("cloud"), true, 1500);
  for (const [name, args] of [
    ["version", ["--version"]],
    ["help", ["--help"]],
  ] as const) {
    const [cmd, argv] = launch([...args]);
    const r = spawnSync(cmd, argv, { env: envFor(name), stdio: "ignore" });
    if (r.status !== 0) throw new Error(`ledge ${args.join(" ")} exited ${r.status} while recording`);
  }
  const files = ["run", "cloud", "version", "help"].map((n) => join(dir, `${n}.order`));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length)
    throw new Error(`no bytecode profile written: ${missing.join(", ")} (in ${readdirSync(dir).join(", ")})`);
  return files;
}
