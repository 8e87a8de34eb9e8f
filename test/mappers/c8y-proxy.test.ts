/**
 * The local Cumulocity proxy's contract (thin-edge's c8y_auth_proxy, TEDGE-FACTS §4.5) against the
 * HTTPS stand-in with client certificates: REST calls get the device's token, bodies stream both
 * ways, the UI is refused, a WebSocket reaches the tenant, an unreachable tenant is a plain 502,
 * and the server's limits hold. Run twice: in this Node process (node:http, as the armv7 binary
 * serves it) and in a Bun process (Bun.serve, as the x64/arm64 binaries do: the stand-in needs
 * Node's TLS, so only the proxy runs under Bun, test/helpers/c8y-proxy-server.ts).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import type { HttpLimits } from "../../src/foundation/http/exchange.ts";
import { type ProxySetup, proxyFor } from "../helpers/c8y-proxy.ts";
import { C8yStandIn } from "../helpers/c8y-standin.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { BUN, ROOT } from "../helpers/targets-bin.ts";
import { clientCert, createPki, type Pki } from "../helpers/tls-pki.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const LIMITS: HttpLimits = {
  headersTimeoutMs: 2000,
  requestTimeoutMs: 2000,
  idleTimeoutMs: 5000,
  maxConnections: 4,
};

interface ProxyOptions extends ProxySetup {
  /** A token the tenant accepts, as JWT over MQTT would bring it. */
  issue: () => string;
}

interface RunningProxy {
  port: number;
  close(): Promise<void>;
}

async function inNode(o: ProxyOptions): Promise<RunningProxy> {
  const proxy = proxyFor(o, async () => o.issue());
  return { port: await proxy.listen("127.0.0.1", 0), close: () => proxy.close() };
}

async function inBun(o: ProxyOptions): Promise<RunningProxy> {
  const { issue, ...args } = o;
  const proc = spawn(BUN, [join(ROOT, "test/helpers/c8y-proxy-server.ts"), JSON.stringify(args)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr.on("data", (d) => {
    err += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      for (let nl = out.indexOf("\n"); nl >= 0; nl = out.indexOf("\n")) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line === "token?") proc.stdin.write(`${issue()}\n`);
        const ready = /^ready (\d+)$/.exec(line);
        if (ready) resolve(Number(ready[1]));
      }
    });
    proc.once("exit", () => reject(new Error(`the Bun proxy exited: ${err}`)));
  });
  return {
    port,
    close: async () => {
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await gone;
    },
  };
}

const RUNTIMES = [
  ["node:http (Node)", inNode, false],
  ["Bun.serve (Bun)", inBun, !existsSync(BUN) && "bun not installed"],
] as const;

for (const [server, start, skip] of RUNTIMES)
  describe(`the local Cumulocity proxy on ${server} against an HTTPS stand-in`, { skip }, () => {
    let pki: Pki;
    let tenant: C8yStandIn;
    let proxy: RunningProxy;
    /** The same with small limits, which no earlier client's kept-alive connection counts against. */
    let limited: RunningProxy;
    let port: number;
    let base: string;
    let mo: string;
    let token = "";
    let tokensFetched = 0;

    before(async () => {
      pki = createPki();
      const device = clientCert(pki, "test-device");
      tenant = new C8yStandIn(pki, "test-device");
      await tenant.start();
      mo = tenant.addDevice("test-device");
      const options: ProxyOptions = {
        tenantPort: tenant.port,
        cert: device.cert,
        key: device.key,
        ca: pki.caCert,
        issue: () => {
          tokensFetched++;
          token = tenant.issueToken();
          return token;
        },
      };
      proxy = await start(options);
      limited = await start({ ...options, limits: LIMITS });
      port = proxy.port;
      base = `http://127.0.0.1:${port}/c8y`;
    });
    after(async () => {
      await proxy?.close();
      await limited?.close();
      await tenant?.stop();
      pki?.cleanup();
    });

    it("a REST call without credentials gets the device's token (and keeps its query)", async () => {
      const mark = tenant.requests.length;
      const r = await fetch(`${base}/identity/externalIds/c8y_Serial/test-device?withParents=true&q=a%20b`);
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { managedObject: { id: string } }).managedObject.id, mo);
      const seen = tenant.requests.slice(mark);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.path, "/identity/externalIds/c8y_Serial/test-device?withParents=true&q=a%20b");
      assert.equal(seen[0]?.headers.authorization, `Bearer ${token}`);
      assert.deepEqual(tenant.problems, []);
    });

    it("a JSON body is passed through after the token check (HEAD /tenant/currentTenant)", async () => {
      const mark = tenant.requests.length;
      const r = await fetch(`${base}/event/events`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({
          source: { id: mo },
          type: "local",
          text: "from a script",
          time: "2024-01-01T00:00:00Z",
        }),
      });
      assert.equal(r.status, 201);
      assert.equal(((await r.json()) as { text: string }).text, "from a script");
      assert.deepEqual(
        tenant.requests.slice(mark).map((q) => `${q.method} ${q.path}`),
        ["HEAD /tenant/currentTenant", "POST /event/events"],
      );
      assert.deepEqual(tenant.problems, []);
    });

    it("a chunked upload (no Content-Length) streams through: a multipart binary attached to an event", async () => {
      const created = await fetch(`${base}/event/events`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ source: { id: mo }, type: "log", text: "log", time: "2024-01-01T00:00:00Z" }),
      });
      const { id } = (await created.json()) as { id: string };
      const file = randomBytes(3 << 20);
      const boundary = "b0undary";
      const parts = [
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        file.subarray(0, 1 << 20),
        file.subarray(1 << 20),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ];
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          const next = parts.shift();
          if (next) c.enqueue(next);
          else c.close();
        },
      });
      const r = await fetch(`${base}/event/events/${id}/binaries`, {
        method: "POST",
        headers: { "Content-Type": `multipart/form-data; boundary=${boundary}` },
        body,
        duplex: "half",
      } as RequestInit);
      assert.equal(r.status, 201, await r.text());
      assert.equal(sha(tenant.binaries.get(id)?.content ?? Buffer.alloc(0)), sha(file));
      assert.deepEqual(tenant.problems, []);
    });

    it("a large download streams through whole", async () => {
      const file = randomBytes(8 << 20);
      tenant.inventoryBinaries.set("4242", file);
      const r = await fetch(`${base}/inventory/binaries/4242`);
      assert.equal(r.status, 200);
      assert.equal(sha(new Uint8Array(await r.arrayBuffer())), sha(file));
    });

    it("the UI (*.js, apps/) is refused with 403 and paths outside /c8y with 404; the tenant is not asked", async () => {
      const mark = tenant.requests.length;
      for (const [path, status] of [
        ["/c8y/apps/cockpit/index.html", 403],
        ["/c8y/main.js", 403],
        ["/inventory/managedObjects", 404],
      ] as const) {
        const r = await fetch(`http://127.0.0.1:${port}${path}`);
        assert.equal(r.status, status, path);
        assert.match(r.headers.get("content-type") ?? "", /^text\/plain/);
      }
      assert.equal(tenant.requests.length, mark);
    });

    it("a client's own Authorization is passed through as it is (the tenant's 401 comes back, no retry)", async () => {
      const mark = tenant.requests.length;
      const r = await fetch(`${base}/identity/externalIds/c8y_Serial/test-device`, {
        headers: { Authorization: "Bearer nope" },
      });
      assert.equal(r.status, 401);
      assert.deepEqual(
        tenant.requests.slice(mark).map((q) => q.headers.authorization),
        ["Bearer nope"],
      );
    });

    it("a token the tenant refuses is renewed and the request retried once", async () => {
      tenant.revokeTokens();
      const before = tokensFetched;
      const r = await fetch(`${base}/identity/externalIds/c8y_Serial/test-device`);
      assert.equal(r.status, 200);
      assert.equal(tokensFetched, before + 1);
    });

    it("a WebSocket reaches the tenant with the device's token; text and binary messages come back", async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/c8y/notification2/consumer/?token=abc`);
      const got: { data: string; binary: boolean }[] = [];
      ws.on("message", (d: Buffer, binary: boolean) =>
        got.push({ data: Buffer.from(d).toString("hex"), binary }),
      );
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      ws.send("ping");
      ws.send(Buffer.from([0, 1, 2, 255]));
      await waitFor("two echoes", () => got.length >= 2 || undefined);
      assert.deepEqual(got, [
        { data: Buffer.from("ping").toString("hex"), binary: false },
        { data: "000102ff", binary: true },
      ]);
      ws.close();
      const hs = tenant.requests.find((r) => r.path === "/notification2/consumer/?token=abc");
      assert.equal(hs?.headers.authorization, `Bearer ${token}`);
      assert.equal(hs?.headers.host, `127.0.0.1:${tenant.port}`);
      assert.deepEqual(tenant.problems, []);
    });

    it("a tenant that stops reading: past 64 MiB waiting the relay closes the client with 1013, nothing dropped silently (Bun)", {
      skip: start !== inBun && "under Node the upgrade is a byte tunnel: TCP holds the client back",
      timeout: 30_000,
    }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/c8y/notification2/consumer/?stall`);
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      const closed = new Promise<number>((resolve) => ws.once("close", (code: number) => resolve(code)));
      const mib = Buffer.alloc(1 << 20);
      // 96 MiB, paced by the sockets taking them: past 64 MiB waiting in the proxy it gives up
      for (let i = 0; i < 96 && ws.readyState === ws.OPEN; i++)
        await new Promise<void>((resolve) => ws.send(mib, () => resolve()));
      assert.equal(await closed, 1013);
    });

    it("positive control: a tenant that reads takes 32 MiB through the relay", async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/c8y/notification2/consumer/?big`);
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      let echoed = 0;
      ws.on("message", (d: Buffer) => {
        echoed += d.length;
      });
      const mib = Buffer.alloc(1 << 20);
      for (let i = 0; i < 32; i++) await new Promise<void>((resolve) => ws.send(mib, () => resolve()));
      await waitFor("32 MiB echoed", () => echoed >= 32 << 20 || undefined, 20_000);
      assert.equal(ws.readyState, ws.OPEN);
      ws.close();
    });

    it("a WebSocket to a UI path is refused with 403", async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/c8y/apps/x`);
      const status = await new Promise<number>((resolve, reject) => {
        ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        ws.once("open", () => reject(new Error("upgraded")));
        ws.once("error", (e) => reject(e));
      });
      assert.equal(status, 403);
    });

    it("the tenant unreachable: 502 Bad Gateway in plain text", async () => {
      const closed = await start({ tenantPort: await freePort(), issue: () => "t" });
      try {
        const r = await fetch(`http://127.0.0.1:${closed.port}/c8y/inventory/managedObjects`);
        assert.equal(r.status, 502);
        assert.match(r.headers.get("content-type") ?? "", /^text\/plain/);
        assert.match(await r.text(), /Bad Gateway/);
      } finally {
        await closed.close();
      }
    });

    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect(limited.port, "127.0.0.1", () => resolve(s.resume()));
        s.on("error", reject);
      });
    const closed = (s: Socket) =>
      new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once("close", () => resolve())));

    it("an upload that trickles (1 byte at a time) is dropped at the request timeout", async () => {
      const s = await open();
      s.write(`PUT /c8y/inventory/binaries/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`);
      const t = setInterval(() => s.writable && s.write("x"), 50);
      const t0 = Date.now();
      await closed(s);
      clearInterval(t);
      // the whole body would take 50 s at this pace
      assert.ok(Date.now() - t0 < 8000, `closed after ${Date.now() - t0} ms`);
    });

    it("requests beyond the limit are refused until one ends", async () => {
      // four uploads in progress hold the four slots (connections under node:http, requests under Bun)
      const mark = tenant.requests.length;
      const held = await Promise.all([0, 1, 2, 3].map(() => open()));
      for (const s of held)
        s.write(`PUT /c8y/inventory/binaries/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nx`);
      // each is being served: its token was checked before its body goes to the tenant
      await waitFor(
        "four uploads in progress",
        () => tenant.requests.slice(mark).filter((q) => q.method === "HEAD").length >= 4 || undefined,
      );
      // node:http closes the fifth connection at once; Bun.serve answers its request 503 and closes
      const extra = await open();
      let answer = "";
      extra.on("data", (d) => {
        answer += d;
      });
      extra.write("GET /c8y/identity/externalIds/c8y_Serial/test-device HTTP/1.1\r\nHost: x\r\n\r\n");
      await closed(extra);
      assert.ok(answer === "" || answer.startsWith("HTTP/1.1 503"), answer);
      for (const s of held) s.destroy();
      // positive control: a request gets through once the slots are free
      await waitFor("a free slot", async () => {
        const r = await fetch(
          `http://127.0.0.1:${limited.port}/c8y/identity/externalIds/c8y_Serial/test-device`,
        ).catch(() => undefined);
        return r?.status === 200 || undefined;
      });
    });
  });
