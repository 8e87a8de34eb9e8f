/**
 * A socat pty pair with known link names (`<dir>/a`, `<dir>/b`) for serial tests: what one end
 * writes the other reads, like a null-modem cable. `stop()` makes both ends vanish (the device is
 * "unplugged": open fds get EIO, the links disappear); `start()` brings them back under the same
 * names. Works under Node and Bun (plain child_process).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PtyPair {
  dir: string;
  a: string;
  b: string;
  /** Unplug: kill socat, wait until both links are gone. */
  stop(): Promise<void>;
  /** Plug back in with the same link names. */
  start(): Promise<void>;
  /** Stop and remove the temp dir. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export async function createPtyPair(dir = mkdtempSync(join(tmpdir(), "ledge-pty-"))): Promise<PtyPair> {
  const a = join(dir, "a");
  const b = join(dir, "b");
  let proc: ChildProcess | undefined;
  let stderr = "";
  const start = async () => {
    if (proc) return;
    stderr = "";
    // raw, no echo on both sides: the pty itself must not translate bytes (tests check 0x0a, 0x0d)
    const p = spawn("socat", [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    p.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    proc = p;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    let dead = false;
    void exited.then(() => {
      dead = true;
    });
    try {
      await until("socat pty links", () => dead || (existsSync(a) && existsSync(b)));
    } catch (e) {
      p.kill("SIGKILL");
      throw e;
    }
    if (dead) {
      proc = undefined;
      throw new Error(`socat exited: ${stderr.trim() || "is socat installed?"}`);
    }
  };
  const stop = async () => {
    const p = proc;
    if (!p) return;
    proc = undefined;
    const exited = new Promise<void>((r) => (p.exitCode !== null ? r() : p.once("exit", () => r())));
    p.kill("SIGTERM");
    await exited;
    await until("socat links to go", () => !existsSync(a) && !existsSync(b)).catch(() => {
      rmSync(a, { force: true });
      rmSync(b, { force: true });
    });
  };
  await start();
  return {
    dir,
    a,
    b,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
