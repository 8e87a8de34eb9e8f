/**
 * The `node:net`/`node:tls` implementation of `Net` (the armv7 Node SEA binary, tests under Node).
 * Node's socket already queues what the kernel does not take and reports it as `writableLength`,
 * so this is a thin adapter; its only policy is the exactly-once `onClose` and the connect timeout.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import {
  CONNECT_TIMEOUT_MS,
  type Conn,
  type ConnEvents,
  type ConnectOptions,
  connectAbortedError,
  connectTimeoutError,
  flatSubject,
  HIGH_WATER,
  type Listener,
  type ListenOptions,
  type Net,
  type PeerCertificate,
} from "./net.ts";

class NodeConn implements Conn {
  private closed = false;
  private error: Error | undefined;
  events: ConnEvents | undefined;

  constructor(
    readonly socket: net.Socket,
    readonly peerCertificate?: PeerCertificate,
    /**
     * Accepted connections take turns (below); an outgoing one (a client's single link to its
     * broker or cloud) reads what has arrived at once: pausing it after every chunk halved the
     * bridge's acknowledged throughput (bench/bridge.ts), as each chunk of PUBACKs waited a turn.
     */
    takeTurns = true,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.events?.onData(chunk);
      // One chunk per connection per turn of the event loop: libuv otherwise reads up to 32 chunks
      // of 64 KiB from one busy socket (a flood) in a row, and every other client (a health check)
      // waits until all of them are handled. Paused, the socket stops reading at its high-water mark.
      if (!takeTurns || this.closed || socket.isPaused()) return;
      socket.pause();
      setImmediate(() => {
        if (!this.closed) socket.resume();
      });
    });
    socket.on("drain", () => this.events?.onDrain());
    socket.on("error", (e) => {
      this.error ??= e;
    });
    socket.on("close", () => {
      if (this.closed) return;
      this.closed = true;
      this.events?.onClose(this.error);
    });
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }

  get pending(): number {
    return this.socket.writableLength;
  }

  write(data: Uint8Array): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    this.socket.write(data);
    return this.socket.writableLength < HIGH_WATER;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function peerOf(socket: tls.TLSSocket): PeerCertificate | undefined {
  if (!socket.authorized) return undefined;
  const c = socket.getPeerCertificate();
  if (!c?.fingerprint256) return undefined;
  return { subject: flatSubject(c.subject), fingerprint256: c.fingerprint256 };
}

async function listen(opts: ListenOptions, accept: (conn: Conn) => ConnEvents): Promise<Listener> {
  const open = new Set<net.Socket>();
  const adopt = (socket: net.Socket, peer?: PeerCertificate) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    const conn = new NodeConn(socket, peer);
    conn.events = accept(conn);
  };
  let server: net.Server;
  const t = opts.tls;
  if (t) {
    const mustHaveCert = !!t.requestCert && t.requireCert !== false;
    server = tls.createServer(
      {
        cert: t.cert,
        key: t.key,
        ca: t.ca,
        requestCert: !!t.requestCert,
        // an optional certificate still has to verify when one is sent: checked below
        rejectUnauthorized: mustHaveCert,
      },
      (socket) => {
        if (t.requestCert && !socket.authorized && socket.getPeerCertificate()?.fingerprint256) {
          socket.destroy();
          return;
        }
        adopt(socket, peerOf(socket));
      },
    );
    // a refused handshake is the client's problem, not the listener's
    server.on("tlsClientError", () => {});
  } else {
    server = net.createServer((socket) => adopt(socket));
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}

function connect(opts: ConnectOptions, events: ConnEvents): Promise<Conn> {
  const ms = opts.timeoutMs ?? CONNECT_TIMEOUT_MS;
  return new Promise<Conn>((resolve, reject) => {
    const t = opts.tls;
    const socket: net.Socket = t
      ? tls.connect({
          host: opts.host,
          port: opts.port,
          ca: t.ca,
          cert: t.cert,
          key: t.key,
          // SNI must not be an IP address
          servername: t.servername ?? (net.isIP(opts.host) ? undefined : opts.host),
          rejectUnauthorized: t.rejectUnauthorized ?? true,
        })
      : net.connect({ host: opts.host, port: opts.port });
    const abort = () => fail(connectAbortedError(opts));
    const fail = (e: Error) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", abort);
      socket.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(connectTimeoutError(opts, ms)), ms);
    if (opts.signal?.aborted) return abort();
    opts.signal?.addEventListener("abort", abort, { once: true });
    socket.once("error", fail);
    socket.once(t ? "secureConnect" : "connect", () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", abort);
      socket.off("error", fail);
      const conn = new NodeConn(socket, undefined, false);
      conn.events = events;
      resolve(conn);
    });
  });
}

export const nodeNet: Net = { kind: "node", listen, connect };
