import assert from "node:assert/strict";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EntityView } from "../../src/agent/http/entity-view.ts";
import { AgentHttpServer } from "../../src/agent/http/server.ts";
import { type AgentEnv, agentEnv, log } from "../helpers/agent-env.ts";
import { raw } from "../helpers/http.ts";
import { waitFor } from "../helpers/ports.ts";

describe("file transfer service: links out of its root", () => {
  let env: AgentEnv;
  let port: number;
  let root: string;
  const outside = mkdtempSync(join(tmpdir(), "ledge-outside-"));
  before(async () => {
    env = await agentEnv("embedded");
    await env.startAgent();
    port = env.agent!.http.port;
    root = join(env.config.dataDir, "file-transfer");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(outside, "secret"), "secret");
    symlinkSync(outside, join(root, "dirlink"));
    symlinkSync(join(outside, "secret"), join(root, "filelink"));
    linkSync(join(outside, "secret"), join(root, "hardlink"));
  });
  after(async () => {
    await env.close();
    rmSync(outside, { recursive: true, force: true });
  });

  it("GET through a symlinked directory → 403, nothing read", async () => {
    const r = await raw(port, "GET", "/te/v1/files/dirlink/secret");
    assert.equal(r.status, 403);
    assert.doesNotMatch(r.body, /secret"?$/);
  });

  it("GET of a symlink (O_NOFOLLOW) → 403", async () => {
    assert.equal((await raw(port, "GET", "/te/v1/files/filelink")).status, 403);
  });

  it("GET of a hard link to a file outside → 403", async () => {
    assert.equal((await raw(port, "GET", "/te/v1/files/hardlink")).status, 403);
  });

  it("PUT through a symlinked directory → 403, nothing written outside", async () => {
    assert.equal((await raw(port, "PUT", "/te/v1/files/dirlink/new", "pwned")).status, 403);
    assert.equal(existsSync(join(outside, "new")), false);
  });

  it("PUT over a symlink or a hard link replaces the name, never the target", async () => {
    assert.equal((await raw(port, "PUT", "/te/v1/files/filelink", "mine")).status, 201);
    assert.equal((await raw(port, "PUT", "/te/v1/files/hardlink", "mine")).status, 201);
    assert.equal(readFileSync(join(outside, "secret"), "utf8"), "secret");
    assert.equal((await raw(port, "GET", "/te/v1/files/hardlink")).body, "mine");
  });

  it("DELETE through a symlinked directory → 403, the file outside stays", async () => {
    assert.equal((await raw(port, "DELETE", "/te/v1/files/dirlink/secret")).status, 403);
    assert.equal(existsSync(join(outside, "secret")), true);
  });

  it("a file name longer than the file system allows → 400, not 500 (found by the fuzz suite, seed 1)", async () => {
    assert.equal((await raw(port, "PUT", `/te/v1/files/${"..c".repeat(300)}`, "x")).status, 400);
    assert.equal((await raw(port, "GET", `/te/v1/files/${encodeURIComponent("é".repeat(101))}`)).status, 400);
    assert.equal((await raw(port, "PUT", `/te/v1/files/${"n".repeat(200)}`, "x")).status, 201);
  });

  it("positive control: an ordinary file round-trips", async () => {
    assert.equal((await raw(port, "PUT", "/te/v1/files/ok/file", "fine")).status, 201);
    assert.equal((await raw(port, "GET", "/te/v1/files/ok/file")).body, "fine");
  });
});

describe("entity HTTP API: ids that cannot be topics", () => {
  let env: AgentEnv;
  let port: number;
  before(async () => {
    env = await agentEnv("embedded");
    await env.startAgent();
    port = env.agent!.http.port;
  });
  after(() => env.close());

  const bad: [string, string][] = [
    ["a NUL in the id", JSON.stringify({ "@topic-id": "device/a\u0000b//", "@type": "child-device" })],
    ["a lone high surrogate in the id", '{"@topic-id":"device/a\\ud800//","@type":"child-device"}'],
    ["a lone low surrogate in the id", '{"@topic-id":"device/\\udc00//","@type":"child-device"}'],
    [
      "a NUL in @parent",
      JSON.stringify({
        "@topic-id": "device/p//",
        "@type": "child-device",
        "@parent": "device/main//\u0000",
      }),
    ],
  ];
  for (const [what, body] of bad)
    it(`POST with ${what} → 400`, async () => {
      const r = await raw(port, "POST", "/te/v1/entities", body);
      assert.equal(r.status, 400, r.body);
    });

  it("GET and DELETE with %00 in the path → 400", async () => {
    assert.equal((await raw(port, "GET", "/te/v1/entities/device/a%00//")).status, 400);
    assert.equal((await raw(port, "DELETE", "/te/v1/entities/device/a%00//")).status, 400);
  });

  it("positive control: a valid registration → 201", async () => {
    const r = await raw(
      port,
      "POST",
      "/te/v1/entities",
      JSON.stringify({ "@topic-id": "device/fine//", "@type": "child-device" }),
    );
    assert.equal(r.status, 201, r.body);
  });
});

describe("HTTP service limits: timeouts and connections", () => {
  let env: AgentEnv;
  let server: AgentHttpServer;
  const dir = mkdtempSync(join(tmpdir(), "ledge-http-limits-"));
  before(async () => {
    env = await agentEnv("embedded");
    const view = new EntityView(env.bus, "te");
    server = new AgentHttpServer({
      host: "127.0.0.1",
      port: 0,
      files: { root: dir, maxBytes: 1 << 20, log },
      entities: { view, bus: env.bus, root: "te" },
      log,
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, idleTimeoutMs: 5000, maxConnections: 4 },
    });
    await server.start();
  });
  after(async () => {
    await server.stop();
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      // flowing, so that the server's FIN is read and "close" comes
      const s = connect(server.port, "127.0.0.1", () => resolve(s.resume()));
      s.on("error", reject);
    });
  const closed = (s: Socket) =>
    new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once("close", () => resolve())));

  // uWebSockets (under Bun.serve) drops a request head unfinished after its own ~10 s
  it("a client that never finishes its headers is dropped", { timeout: 20_000 }, async () => {
    const s = await open();
    s.write("PUT /te/v1/files/slow HTTP/1.1\r\nHost: x\r\n");
    await closed(s);
  });

  it("an upload that trickles (1 byte at a time) is dropped at the request timeout, nothing kept", async () => {
    const s = await open();
    s.write("PUT /te/v1/files/trickle HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
    const t = setInterval(() => s.writable && s.write("x"), 50);
    const t0 = Date.now();
    await closed(s);
    clearInterval(t);
    // the whole body would take 50 s at this pace
    assert.ok(Date.now() - t0 < 5000, `closed after ${Date.now() - t0} ms`);
    await waitFor("no temp file", () => readdirSync(dir).length === 0 || undefined, 2000);
  });

  it("requests beyond the limit are refused until one ends", async () => {
    // four uploads in progress hold the four slots (connections under node:http, requests under Bun)
    const held = await Promise.all([0, 1, 2, 3].map(() => open()));
    for (const [i, s] of held.entries())
      s.write(`PUT /te/v1/files/held${i} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nx`);
    // node:http closes the fifth connection at once; Bun.serve answers its request 503 and closes
    const extra = await open();
    let answer = "";
    extra.on("data", (d) => {
      answer += d;
    });
    extra.write("PUT /te/v1/files/extra HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
    await closed(extra);
    assert.ok(answer === "" || answer.startsWith("HTTP/1.1 503"), answer);
    assert.ok(!existsSync(join(dir, "extra")));
    for (const s of held) s.destroy();
    // positive control: a request gets through once the slots are free
    await waitFor("a free slot", async () => {
      const r = await raw(server.port, "PUT", "/te/v1/files/after", "ok").catch(() => undefined);
      return r?.status === 201 || undefined;
    });
  });
});
