/**
 * The Bun implementation of `Net` on `Bun.listen`/`Bun.connect` (the x64/arm64 binaries): no
 * `node:net`, no streams. Bun's `write` is unbuffered (it returns how many bytes the kernel took),
 * so this file keeps the rest in a per-connection queue and flushes it from the `drain` callback.
 * With TLS, a connection is handed over only after the handshake, so the peer certificate is known.
 */
import type { Socket, TCPSocketListener } from "bun";
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

class BunConn implements Conn {
  events: ConnEvents | undefined;
  peerCertificate?: PeerCertificate;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private wantDrain = false;
  private ending = false;
  private closed = false;
  /** Bun reports a TLS failure through `error` before `close`; kept for `onClose`. */
  lastError: Error | undefined;

  constructor(private readonly socket: Socket<BunConn | undefined>) {}

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }

  get pending(): number {
    return this.queued;
  }

  write(data: Uint8Array): boolean {
    if (this.closed || this.ending) return false;
    if (this.queued === 0) {
      const n = this.socket.write(data);
      if (n < 0) return false;
      if (n === data.byteLength) return true;
      data = data.subarray(n);
    }
    this.queue.push(data);
    this.queued += data.byteLength;
    if (this.queued < HIGH_WATER) return true;
    this.wantDrain = true;
    return false;
  }

  /** Called from Bun's `drain`: hand the queue to the kernel until it takes less than offered. */
  flush(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0] as Uint8Array;
      const n = this.socket.write(head);
      if (n < 0) return;
      this.queued -= n;
      if (n < head.byteLength) {
        this.queue[0] = head.subarray(n);
        return;
      }
      this.queue.shift();
    }
    if (this.ending) {
      this.socket.end();
      return;
    }
    if (this.wantDrain) {
      this.wantDrain = false;
      this.events?.onDrain();
    }
  }

  end(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    if (this.queued === 0) this.socket.end();
  }

  destroy(): void {
    if (this.closed) return;
    this.queue = [];
    this.queued = 0;
    this.socket.terminate();
  }

  /** Exactly once, whatever Bun reports (`error` then `close`, or `close` alone). */
  closedBy(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    this.events?.onClose(error);
  }
}

type BunSocket = Socket<BunConn | undefined>;

/** Handlers shared by both sides; the connection lives in `socket.data`. */
const common = {
  // Buffers, as node:net gives: the MQTT decoder reads ASCII topics off them without a view.
  binaryType: "buffer" as const,
  data(socket: BunSocket, chunk: Uint8Array) {
    socket.data?.events?.onData(chunk);
  },
  drain(socket: BunSocket) {
    socket.data?.flush();
  },
  error(socket: BunSocket, error: Error) {
    if (socket.data) socket.data.lastError ??= error;
  },
  close(socket: BunSocket, error?: Error) {
    socket.data?.closedBy(error ?? socket.data.lastError);
  },
};

function peerOf(socket: BunSocket): PeerCertificate | undefined {
  const c = socket.getPeerCertificate() as { subject?: object; fingerprint256?: string } | undefined;
  if (!c?.fingerprint256) return undefined;
  return { subject: flatSubject(c.subject), fingerprint256: c.fingerprint256 };
}

async function listen(opts: ListenOptions, accept: (conn: Conn) => ConnEvents): Promise<Listener> {
  const t = opts.tls;
  const adopt = (socket: BunSocket, peer?: PeerCertificate) => {
    socket.setNoDelay(true);
    const conn = new BunConn(socket);
    conn.peerCertificate = peer;
    socket.data = conn;
    conn.events = accept(conn);
  };
  const listener: TCPSocketListener<BunConn | undefined> = Bun.listen<BunConn | undefined>({
    hostname: opts.host,
    port: opts.port,
    data: undefined,
    tls: t
      ? {
          cert: t.cert,
          key: t.key,
          ca: t.ca,
          requestCert: !!t.requestCert,
          rejectUnauthorized: !!t.requestCert && t.requireCert !== false,
        }
      : undefined,
    socket: {
      ...common,
      open(socket) {
        if (!t) adopt(socket);
      },
      handshake(socket, _success, authorizationError) {
        if (!t?.requestCert) return adopt(socket);
        const peer = peerOf(socket);
        // an optional certificate must still verify when one is sent
        if (authorizationError && (peer || t.requireCert !== false)) return socket.terminate();
        adopt(socket, authorizationError ? undefined : peer);
      },
    },
  });
  return {
    port: listener.port,
    close: async () => listener.stop(true),
  };
}

function connect(opts: ConnectOptions, events: ConnEvents): Promise<Conn> {
  const ms = opts.timeoutMs ?? CONNECT_TIMEOUT_MS;
  const t = opts.tls;
  return new Promise<Conn>((resolve, reject) => {
    let settled = false;
    /** The socket once TCP is up (a TLS handshake may still be under way), for an abort. */
    let opened: BunSocket | undefined;
    const abort = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opened?.terminate();
      reject(connectAbortedError(opts));
    };
    const done = (socket: BunSocket, error?: Error) => {
      if (settled) {
        if (!error && !socket.data) socket.terminate(); // opened after the timeout or an abort
        return;
      }
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", abort);
      if (error) {
        socket.terminate();
        return reject(error);
      }
      socket.setNoDelay(true);
      const conn = new BunConn(socket);
      conn.events = events;
      socket.data = conn;
      // the connect-time handlers close over this promise; shared ones keep nothing per socket
      socket.reload({ socket: common });
      resolve(conn);
    };
    const timer = setTimeout(() => {
      settled = true;
      opened?.terminate();
      reject(connectTimeoutError(opts, ms));
    }, ms);
    if (opts.signal?.aborted) return abort();
    opts.signal?.addEventListener("abort", abort, { once: true });
    Bun.connect<BunConn | undefined>({
      hostname: opts.host,
      port: opts.port,
      data: undefined,
      tls: t
        ? {
            ca: t.ca,
            cert: t.cert,
            key: t.key,
            serverName: t.servername,
            rejectUnauthorized: t.rejectUnauthorized ?? true,
          }
        : undefined,
      socket: {
        ...common,
        open(socket) {
          if (settled) return socket.terminate(); // opened after the timeout or an abort
          opened = socket;
          if (!t) done(socket);
        },
        handshake(socket, _success, authorizationError) {
          if (authorizationError && t?.rejectUnauthorized !== false) done(socket, authorizationError);
          else done(socket);
        },
        close(socket, error) {
          if (!socket.data) {
            if (!settled) {
              settled = true;
              clearTimeout(timer);
              reject(error ?? new Error(`connection to ${opts.host}:${opts.port} closed during connect`));
            }
            return;
          }
          common.close(socket, error);
        },
        connectError(_socket, error) {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(error);
        },
      },
    }).catch(() => {}); // reported through connectError
  });
}

export const bunNet: Net = { kind: "bun", listen, connect };
