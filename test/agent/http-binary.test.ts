/**
 * The agent's HTTP service in the compiled x64 binary (Bun.serve), with its default limits: files
 * round-trip, links out of the root are refused, a request head that never ends is dropped by Bun's
 * own timer, and the 33rd request at once is refused until a slot frees.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { raw } from "../helpers/http.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import {
  cleanEnv,
  type Daemon,
  ensureBuilt,
  startBinary,
  target,
  tempConfigDir,
} from "../helpers/targets-bin.ts";

const X64 = target("linux-x64");

describe("HTTP service in the x64 binary (Bun.serve)", () => {
  let cfg: ReturnType<typeof tempConfigDir>;
  let daemon: Daemon;
  let port: number;
  const outside = mkdtempSync(join(tmpdir(), "ledge-outside-"));

  before(async () => {
    ensureBuilt(["linux-x64"]);
    cfg = tempConfigDir(await freePort());
    port = await freePort();
    const root = join(cfg.dataDir, "file-transfer");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(outside, "secret"), "secret");
    symlinkSync(outside, join(root, "dirlink"));
    symlinkSync(join(outside, "secret"), join(root, "filelink"));
    daemon = startBinary(
      X64,
      ["--config-dir", cfg.dir, "run"],
      cleanEnv({ LEDGE_HTTP_BIND_PORT: String(port) }),
    );
    await waitFor(
      "the HTTP service",
      async () =>
        (await raw(port, "GET", "/te/v1/entities").catch(() => undefined))?.status === 200 || undefined,
      15_000,
    );
  });

  after(async () => {
    await daemon?.stop();
    cfg?.cleanup();
    rmSync(outside, { recursive: true, force: true });
  });

  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => resolve(s.resume()));
      s.on("error", reject);
    });
  const closed = (s: Socket) =>
    new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once("close", () => resolve())));

  it("PUT, GET, HEAD, DELETE", async () => {
    assert.equal((await raw(port, "PUT", "/te/v1/files/a/b.txt", "hello")).status, 201);
    assert.deepEqual(await raw(port, "GET", "/te/v1/files/a/b.txt"), { status: 200, body: "hello" });
    assert.equal((await raw(port, "HEAD", "/te/v1/files/a/b.txt")).status, 200);
    assert.equal((await raw(port, "DELETE", "/te/v1/files/a/b.txt")).status, 202);
    const r = await raw(port, "GET", "/te/v1/files/a/b.txt");
    assert.equal(r.status, 404);
    assert.match(JSON.parse(r.body).error, /no such file/);
  });

  it("links out of the root → 403, nothing read or written outside", async () => {
    const r = await raw(port, "GET", "/te/v1/files/dirlink/secret");
    assert.equal(r.status, 403);
    assert.doesNotMatch(r.body, /secret"?$/);
    assert.equal((await raw(port, "GET", "/te/v1/files/filelink")).status, 403);
    assert.equal((await raw(port, "PUT", "/te/v1/files/dirlink/new", "pwned")).status, 403);
    assert.equal((await raw(port, "DELETE", "/te/v1/files/dirlink/secret")).status, 403);
  });

  it("a request head that never ends is dropped", { timeout: 30_000 }, async () => {
    const s = await open();
    s.write("PUT /te/v1/files/slow HTTP/1.1\r\nHost: x\r\n");
    const t = setInterval(() => s.writable && s.write("X"), 500);
    await closed(s);
    clearInterval(t);
  });

  it("the 33rd request at once is refused until one ends", { timeout: 30_000 }, async () => {
    const held = await Promise.all(Array.from({ length: 32 }, () => open()));
    for (const [i, s] of held.entries())
      s.write(`PUT /te/v1/files/held${i} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nx`);
    // the 32 requests are in progress once their temp files exist
    await waitFor(
      "32 uploads in progress",
      () => {
        try {
          const files = new Set(readdirSync(join(cfg.dataDir, "file-transfer")));
          return [...files].filter((f) => f.startsWith(".held")).length === 32 || undefined;
        } catch {
          return undefined;
        }
      },
      10_000,
    );
    const r = await raw(port, "PUT", "/te/v1/files/extra", "x").catch(() => undefined);
    assert.equal(r?.status, 503, r?.body);
    for (const s of held) s.destroy();
    // positive control: a slot frees
    await waitFor("a free slot", async () => {
      const ok = await raw(port, "PUT", "/te/v1/files/after", "ok").catch(() => undefined);
      return ok?.status === 201 || undefined;
    });
  });
});
