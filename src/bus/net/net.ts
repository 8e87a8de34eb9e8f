/**
 * One small socket interface for the broker and the client, two implementations picked at run
 * time like the serial transports: `Bun.listen`/`Bun.connect` under Bun (the x64/arm64 binaries;
 * no `node:net` and no streams loaded), `node:net`/`node:tls` under Node (the armv7 SEA binary,
 * tests). Everything above this folder sees only `Net`, `Conn` and `ConnEvents`.
 *
 * Contract, checked for both by the same suite (test/bus/net-suite.ts):
 * - `write` never drops: the bytes are queued when the kernel takes less. It returns false once
 *   `pending` passes the high-water mark; the writer then waits for `onDrain`. The socket may keep
 *   a reference to `data` until it is sent: do not change it after the call.
 * - `onData`'s chunk may be reused by the socket after the handler returns: copy what you keep.
 * - `onClose` runs exactly once per connection, with an Error when the connection failed (reset,
 *   TLS failure) rather than ended; never for a `connect` that rejected.
 * - `end` flushes what is pending, then closes; `destroy` closes at once and drops it.
 * - `Listener.close` stops accepting and destroys the connections still open, so a stop never
 *   waits on a peer.
 * - Certificates, keys and CAs are PEM text (not file names).
 */

export interface PeerCertificate {
  subject: Record<string, string>;
  /** SHA-256 of the DER certificate, upper-case hex pairs joined by `:` (Node's format). */
  fingerprint256: string;
}

export interface Conn {
  /** False: `pending` is over the high-water mark, wait for `onDrain` before writing more. */
  write(data: Uint8Array): boolean;
  /** Bytes accepted by `write` and not yet handed to the kernel. */
  readonly pending: number;
  end(): void;
  destroy(): void;
  readonly remoteAddress: string;
  /** The verified client certificate on a listener with `requestCert` (absent otherwise). */
  readonly peerCertificate?: PeerCertificate;
}

export interface ConnEvents {
  /** `chunk` may be reused after return. */
  onData(chunk: Uint8Array): void;
  onDrain(): void;
  onClose(error?: Error): void;
}

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

export interface ServerTls {
  cert: string;
  key: string;
  /** CAs that client certificates must chain to. */
  ca?: string;
  /** Ask for a client certificate; one that does not verify against `ca` is refused. */
  requestCert?: boolean;
  /** With `requestCert`: refuse a client that sends none (default true; false: a password may do). */
  requireCert?: boolean;
}

export interface ClientTls {
  /** Trusted roots (one PEM text per file); undefined: the runtime's built-in ones. */
  ca?: string | string[];
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
}

export interface ListenOptions {
  host: string;
  port: number;
  tls?: ServerTls;
}

export interface ConnectOptions {
  host: string;
  port: number;
  tls?: ClientTls;
  /** Gives up on a connect (TCP and TLS handshake) that takes longer (default 10 s). */
  timeoutMs?: number;
  /** Abandons a connect under way (a client stopped meanwhile): its socket is closed, the promise rejects. */
  signal?: AbortSignal;
}

export interface Net {
  /** `bun` (Bun.listen/Bun.connect) or `node` (node:net/node:tls). */
  readonly kind: "bun" | "node";
  listen(opts: ListenOptions, accept: (conn: Conn) => ConnEvents): Promise<Listener>;
  /** Resolves once connected (and, with TLS, the handshake verified); rejects otherwise. */
  connect(opts: ConnectOptions, events: ConnEvents): Promise<Conn>;
}

/** Above this many pending bytes `write` returns false (Node's default for sockets). */
export const HIGH_WATER = 16 * 1024;
export const CONNECT_TIMEOUT_MS = 10_000;

export function isBun(): boolean {
  return typeof process.versions.bun === "string";
}

export function connectAbortedError(opts: ConnectOptions): Error {
  return Object.assign(new Error(`connect to ${opts.host}:${opts.port} abandoned`), { code: "ABORT_ERR" });
}

export function connectTimeoutError(opts: ConnectOptions, ms: number): Error {
  return Object.assign(new Error(`connect to ${opts.host}:${opts.port} timed out after ${ms} ms`), {
    code: "ETIMEDOUT",
  });
}

/** Node's `subject` object may hold arrays for repeated attributes: join them to strings. */
export function flatSubject(subject: object | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(subject ?? {})) out[k] = Array.isArray(v) ? v.join("+") : String(v);
  return out;
}
