/**
 * The socket layer contract (src/bus/net/net.ts), one set of checks for every implementation: run
 * in-process by test/bus/net.test.ts for `node:net`, and under Bun by test/bus/run-net-suite.ts
 * for `Bun.listen`/`Bun.connect`. Plain async checks with node:assert so the same code runs on
 * both runtimes.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Conn, ConnEvents, Net } from "../../src/bus/net/net.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { clientCert, createCa, issue, type Pki } from "../helpers/tls-pki.ts";

export interface Check {
  name: string;
  run(): Promise<void>;
}

/** Records what a connection saw; `chunks` are copies (the socket may reuse its buffer). */
class Sink implements ConnEvents {
  chunks: Buffer[] = [];
  size = 0;
  drains = 0;
  closes: (Error | undefined)[] = [];
  constructor(private readonly onChunk?: (c: Uint8Array) => void) {}
  onData(chunk: Uint8Array): void {
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.byteLength;
    this.onChunk?.(chunk);
  }
  onDrain(): void {
    this.drains++;
  }
  onClose(error?: Error): void {
    this.closes.push(error);
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get closed(): boolean {
    return this.closes.length > 0;
  }
}

const pattern = (n: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 10)) & 0xff;
  return b;
};

const pem = (f: string) => readFileSync(f, "utf8");

/** Writes `data` in `piece`-sized writes, waiting for onDrain whenever `write` says so. */
async function writeAll(conn: Conn, sink: { drained: () => Promise<void> }, data: Buffer, piece: number) {
  let refused = 0;
  for (let off = 0; off < data.length; off += piece) {
    if (!conn.write(data.subarray(off, off + piece))) {
      refused++;
      assert.ok(conn.pending > 0, "write returned false with nothing pending");
      await sink.drained();
    }
  }
  return refused;
}

/** ConnEvents whose onDrain resolves a promise the writer awaits. */
function drainable(base: Sink) {
  let wake: (() => void) | undefined;
  const ev: ConnEvents & { drained(): Promise<void> } = {
    onData: (c) => base.onData(c),
    onClose: (e) => {
      base.onClose(e);
      wake?.();
    },
    onDrain: () => {
      base.onDrain();
      wake?.();
    },
    drained: () =>
      new Promise<void>((r) => {
        wake = r;
      }),
  };
  return ev;
}

const until = (what: string, ok: () => boolean, ms = 10_000) => waitFor(what, () => ok() || undefined, ms, 5);

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, error: e as Error };
  }
}

export function netChecks(net: Net, kind: string, getPki: () => Pki): Check[] {
  const host = "127.0.0.1";
  const check = (name: string, run: () => Promise<void>): Check => ({ name: `${kind}: ${name}`, run });

  /** A listener that echoes, and the server side of each connection it accepted. */
  async function echoServer(tls?: Parameters<Net["listen"]>[0]["tls"]) {
    const accepted: { conn: Conn; sink: Sink }[] = [];
    const l = await net.listen({ host, port: 0, tls }, (conn) => {
      const sink = new Sink((c) => conn.write(Buffer.from(c)));
      accepted.push({ conn, sink });
      return sink;
    });
    return { l, accepted };
  }

  return [
    check("echo: every byte value comes back, remote address is loopback", async () => {
      const { l, accepted } = await echoServer();
      try {
        assert.ok(l.port > 0);
        const sink = new Sink();
        const c = await net.connect({ host, port: l.port }, sink);
        const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        assert.equal(c.write(all), true);
        await until("echo", () => sink.size >= 256);
        assert.deepEqual(sink.bytes(), all);
        assert.match(c.remoteAddress, /127\.0\.0\.1/);
        assert.match(accepted[0]?.conn.remoteAddress ?? "", /127\.0\.0\.1/);
        assert.equal(accepted[0]?.conn.peerCertificate, undefined);
        c.end();
        await until("both sides closed", () => sink.closed && !!accepted[0]?.sink.closed);
        assert.deepEqual(sink.closes, [undefined]);
        assert.deepEqual(accepted[0]?.sink.closes, [undefined]);
      } finally {
        await l.close();
      }
    }),

    check(
      "a large write is queued, not dropped: write says false, onDrain follows, all bytes arrive",
      async () => {
        const received = new Sink();
        const l = await net.listen({ host, port: 0 }, () => received);
        try {
          const base = new Sink();
          const ev = drainable(base);
          const c = await net.connect({ host, port: l.port }, ev);
          const data = pattern(8 << 20);
          const refused = await writeAll(c, ev, data, 256 << 10);
          assert.ok(refused > 0, "8 MiB in 256 KiB writes never hit the high-water mark");
          assert.ok(base.drains > 0);
          await until("8 MiB received", () => received.size >= data.length, 30_000);
          assert.ok(received.bytes().equals(data), "bytes differ");
          c.end();
          await until("closed", () => base.closed);
        } finally {
          await l.close();
        }
      },
    ),

    check("one 4 MiB write from the server: pending counts it, end() flushes it before closing", async () => {
      const data = pattern(4 << 20);
      let pendingAfterWrite = -1;
      let wrote: boolean | undefined;
      const l = await net.listen({ host, port: 0 }, (conn) => {
        wrote = conn.write(data);
        pendingAfterWrite = conn.pending;
        conn.end();
        return new Sink();
      });
      try {
        const sink = new Sink();
        await net.connect({ host, port: l.port }, sink);
        await until("closed", () => sink.closed, 30_000);
        assert.equal(wrote, false, "a 4 MiB write is over the high-water mark");
        assert.ok(pendingAfterWrite > 0);
        assert.equal(sink.size, data.length);
        assert.ok(sink.bytes().equals(data));
        assert.deepEqual(sink.closes, [undefined]);
      } finally {
        await l.close();
      }
    }),

    check(
      "close from the server: destroy() reaches the client once; writes after close return false",
      async () => {
        const { l, accepted } = await echoServer();
        try {
          const sink = new Sink();
          const c = await net.connect({ host, port: l.port }, sink);
          await until("accepted", () => accepted.length === 1);
          accepted[0]?.conn.destroy();
          await until("client closed", () => sink.closed);
          await until("server side closed", () => !!accepted[0]?.sink.closed);
          assert.equal(c.write(Buffer.from("late")), false);
          c.destroy(); // idempotent after close
          c.end();
          await new Promise((r) => setTimeout(r, 20));
          assert.equal(sink.closes.length, 1);
          assert.equal(accepted[0]?.sink.closes.length, 1);
        } finally {
          await l.close();
        }
      },
    ),

    check("close from the client: destroy() reaches the server, onClose once on each side", async () => {
      const { l, accepted } = await echoServer();
      try {
        const sink = new Sink();
        const c = await net.connect({ host, port: l.port }, sink);
        await until("accepted", () => accepted.length === 1);
        c.destroy();
        await until("server saw it", () => !!accepted[0]?.sink.closed);
        await until("client closed", () => sink.closed);
        assert.equal(sink.closes.length, 1);
        assert.equal(accepted[0]?.sink.closes.length, 1);
      } finally {
        await l.close();
      }
    }),

    check("listener close ends open connections and stops accepting", async () => {
      const { l } = await echoServer();
      const sink = new Sink();
      await net.connect({ host, port: l.port }, sink);
      await l.close();
      await until("client closed", () => sink.closed);
      const r = await settle(net.connect({ host, port: l.port, timeoutMs: 2000 }, new Sink()));
      assert.equal(r.ok, false);
    }),

    check("connect refused rejects, and calls no onClose", async () => {
      const port = await freePort();
      const sink = new Sink();
      const r = await settle(net.connect({ host, port, timeoutMs: 2000 }, sink));
      assert.equal(r.ok, false);
      if (!r.ok)
        assert.match(`${(r.error as { code?: string }).code} ${r.error.message}`, /ECONNREFUSED|refused/i);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(sink.closes.length, 0);
    }),

    check("connect timeout: a TLS handshake the server never answers rejects after timeoutMs", async () => {
      const silent = await net.listen({ host, port: 0 }, () => new Sink());
      try {
        const t0 = Date.now();
        const sink = new Sink();
        const r = await settle(
          net.connect({ host, port: silent.port, timeoutMs: 300, tls: { ca: pem(getPki().caCert) } }, sink),
        );
        const took = Date.now() - t0;
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.error.message, /timed out after 300 ms/);
        assert.ok(took >= 250 && took < 3000, `took ${took} ms`);
        assert.equal(sink.closes.length, 0);
      } finally {
        await silent.close();
      }
    }),

    check(
      "connect abandoned (signal) during a TLS handshake: rejects at once, the server sees the socket close",
      async () => {
        const server: Sink[] = [];
        const silent = await net.listen({ host, port: 0 }, () => {
          const s = new Sink();
          server.push(s);
          return s;
        });
        try {
          const abort = new AbortController();
          const sink = new Sink();
          const t0 = Date.now();
          const pending = settle(
            net.connect(
              {
                host,
                port: silent.port,
                timeoutMs: 30_000,
                tls: { ca: pem(getPki().caCert) },
                signal: abort.signal,
              },
              sink,
            ),
          );
          await until("the TCP connection accepted", () => server.length === 1);
          abort.abort();
          const r = await pending;
          assert.equal(r.ok, false);
          if (!r.ok) assert.match(r.error.message, /abandoned/);
          await until("the server saw it close", () => !!server[0]?.closed, 3000);
          assert.ok(Date.now() - t0 < 5000, "long before the 30 s connect timeout");
          assert.equal(sink.closes.length, 0);
        } finally {
          await silent.close();
        }
      },
    ),

    check(
      "TLS with a client certificate: echo, the server sees the verified subject and fingerprint",
      async () => {
        const pki = getPki();
        const dev = clientCert(pki, "device-1", `client-device-1-${kind}`);
        const { l, accepted } = await echoServer({
          cert: pem(pki.serverCert),
          key: pem(pki.serverKey),
          ca: pem(pki.caCert),
          requestCert: true,
        });
        try {
          const sink = new Sink();
          const c = await net.connect(
            { host, port: l.port, tls: { ca: pem(pki.caCert), cert: pem(dev.cert), key: pem(dev.key) } },
            sink,
          );
          c.write(Buffer.from("hello over tls"));
          await until("echo", () => sink.size >= 14);
          assert.equal(sink.bytes().toString(), "hello over tls");
          const peer = accepted[0]?.conn.peerCertificate;
          assert.equal(peer?.subject.CN, "device-1");
          const fp = execFileSync("openssl", ["x509", "-in", dev.cert, "-noout", "-fingerprint", "-sha256"], {
            encoding: "utf8",
          });
          assert.equal(peer?.fingerprint256, fp.trim().split("=")[1]);
          c.end();
          await until("closed", () => sink.closed);
        } finally {
          await l.close();
        }
      },
    ),

    check("TLS: a client certificate from another CA, or none, is refused by requestCert", async () => {
      const pki = getPki();
      const dir = mkdtempSync(join(tmpdir(), "ledge-net-ca-"));
      try {
        const rogueCa = createCa(dir, "rogue-ca");
        const rogue = issue(dir, rogueCa, "rogue", "device-1", "extendedKeyUsage=clientAuth");
        const { l, accepted } = await echoServer({
          cert: pem(pki.serverCert),
          key: pem(pki.serverKey),
          ca: pem(pki.caCert),
          requestCert: true,
        });
        try {
          for (const cred of [{ cert: pem(rogue.cert), key: pem(rogue.key) }, {}]) {
            const sink = new Sink();
            // TLS 1.3: the client may finish its handshake before the server checks its certificate,
            // so the refusal is either a rejected connect or a close with nothing echoed
            const r = await settle(
              net.connect({ host, port: l.port, tls: { ca: pem(pki.caCert), ...cred } }, sink),
            );
            if (r.ok) {
              r.value.write(Buffer.from("ping"));
              await until("refused", () => sink.closed);
              assert.equal(sink.size, 0);
            }
          }
          assert.equal(accepted.length, 0, "a refused client reached accept()");
          // positive control: the same listener takes a good certificate
          const good = clientCert(pki, "device-2", `client-device-2-${kind}`);
          const sink = new Sink();
          const c = await net.connect(
            { host, port: l.port, tls: { ca: pem(pki.caCert), cert: pem(good.cert), key: pem(good.key) } },
            sink,
          );
          c.write(Buffer.from("ok"));
          await until("echo", () => sink.size >= 2);
          assert.equal(accepted.length, 1);
          c.destroy();
        } finally {
          await l.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),

    check("TLS: requireCert false takes a client without a certificate (no peerCertificate)", async () => {
      const pki = getPki();
      const { l, accepted } = await echoServer({
        cert: pem(pki.serverCert),
        key: pem(pki.serverKey),
        ca: pem(pki.caCert),
        requestCert: true,
        requireCert: false,
      });
      try {
        const sink = new Sink();
        const c = await net.connect({ host, port: l.port, tls: { ca: pem(pki.caCert) } }, sink);
        c.write(Buffer.from("anon"));
        await until("echo", () => sink.size >= 4);
        assert.equal(accepted[0]?.conn.peerCertificate, undefined);
        c.destroy();
      } finally {
        await l.close();
      }
    }),

    check("TLS: a server certificate from a CA the client does not trust is refused", async () => {
      const pki = getPki();
      const dir = mkdtempSync(join(tmpdir(), "ledge-net-ca-"));
      try {
        const otherCa = createCa(dir, "other-ca");
        const { l, accepted } = await echoServer({ cert: pem(pki.serverCert), key: pem(pki.serverKey) });
        try {
          const sink = new Sink();
          const r = await settle(net.connect({ host, port: l.port, tls: { ca: pem(otherCa.cert) } }, sink));
          assert.equal(r.ok, false, "connected to a server signed by an untrusted CA");
          if (!r.ok)
            assert.match(
              r.error.message + String((r.error as { code?: string }).code),
              /certif|verify|issuer/i,
            );
          assert.equal(sink.closes.length, 0);
          // positive control: trusting the right CA connects
          const ok = await net.connect({ host, port: l.port, tls: { ca: pem(pki.caCert) } }, new Sink());
          await until("accepted", () => accepted.length === 1);
          ok.destroy();
        } finally {
          await l.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  ];
}
