/**
 * An HTTP server as its handlers see it, whichever server runs it: `Bun.serve` under Bun (the
 * x64/arm64 binaries; node:http and node streams never loaded), node:http under Node (the armv7
 * SEA binary, tests). A handler reads an `HttpRequest` and returns an `HttpReply`; the two
 * adapters (serve-bun.ts, serve-node.ts) do the rest, and enforce `HttpLimits` alike. Used by the
 * agent's HTTP service and the c8y mapper's local proxy; the caller picks the adapter at run time.
 */

export interface HttpRequest {
  readonly method: string;
  /** The request target as sent: the raw path and query. */
  readonly url: string;
  /** The raw (still percent-encoded) path, without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
  /** Every request header, by lower-case name; repeated ones joined with ", ". */
  headers(): Iterable<[string, string]>;
  /**
   * The body, to read at most once. Iterating it throws when the client goes away or the request
   * outlives `requestTimeoutMs`; a body left unread is discarded.
   */
  readonly body: AsyncIterable<Uint8Array>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/**
 * A streamed body: sent chunk by chunk as the client takes them; `return()` is called when the
 * client goes away before the end, so the producer can let go of its file or subscription.
 */
export type BodyStream = AsyncIterable<Uint8Array | string>;

export interface HttpReply {
  status: number;
  /** A list is sent as that many headers of the name (`set-cookie`). */
  headers?: Record<string, string | string[]>;
  /** Text and bytes are sent with their length; a stream chunked (or with `length` under Node). */
  body?: string | Uint8Array | BodyStream;
  /** The length of a streamed body (Node sends it as content-length; Bun.serve always chunks a stream). */
  length?: number;
  /** Close the connection after this reply (the client may still be sending a body we refuse). */
  close?: boolean;
}

export type Handler = (req: HttpRequest) => Promise<HttpReply>;

export interface HttpLimits {
  /** A client must send its request headers within this (slowloris). */
  headersTimeoutMs: number;
  /** The whole request, body included, within this: a 1 byte/s upload cannot hold a slot forever. */
  requestTimeoutMs: number;
  /** A connection idle this long is closed. */
  idleTimeoutMs: number;
  /** Requests served at once (connections under node:http); more are refused until one ends. */
  maxConnections: number;
}

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

/** TLS client settings for an upstream connection. */
export interface UpstreamTls {
  cert?: Buffer;
  key?: Buffer;
  /** Trusted roots; undefined: the runtime's built-in ones. */
  ca?: Buffer[];
  /** SNI and the name checked in the certificate; undefined for an IP address. */
  servername?: string;
}

/** Where a WebSocket upgrade is relayed to: a `wss://` server. */
export interface WebSocketTarget {
  host: string;
  port: number;
  /** Path and query on the target. */
  path: string;
  /** Set on the handshake, replacing the client's header of that name (e.g. `authorization`). */
  headers: Record<string, string>;
  tls: UpstreamTls;
}

/**
 * A WebSocket upgrade request: refused with a reply, or relayed to a target. Under Node the
 * upgrade is tunnelled byte for byte (the target answers the handshake); under Bun, whose server
 * hands out no raw sockets, both hops are WebSockets of their own and messages are relayed.
 */
export type UpgradeHandler = (req: HttpRequest) => Promise<HttpReply | WebSocketTarget>;

export interface ServeOptions {
  host: string;
  port: number;
  limits: HttpLimits;
  handler: Handler;
  /** WebSocket upgrades; without it they reach `handler` as plain requests. */
  upgrade?: UpgradeHandler;
  /** A handler that threw: logged, and answered with a 500 when nothing was sent yet. */
  onError: (path: string, e: unknown) => void;
}

/** A WebSocket upgrade request (RFC 6455 §4.1: `Upgrade: websocket`). */
export function isWebSocketUpgrade(header: (name: string) => string | undefined): boolean {
  return header("upgrade")?.toLowerCase() === "websocket";
}

/** A reply and not a relay target. */
export function isReply(r: HttpReply | WebSocketTarget): r is HttpReply {
  return "status" in r;
}

export function jsonReply(status: number, body: unknown): HttpReply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

export function jsonError(status: number, error: string): HttpReply {
  return jsonReply(status, { error });
}

/** The relay target of an upgrade cannot be reached. */
export const BAD_GATEWAY: HttpReply = {
  status: 502,
  headers: { "content-type": "text/plain; charset=utf-8" },
  body: "Bad Gateway\n",
  close: true,
};

export function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf("?");
  return {
    path: q < 0 ? url : url.slice(0, q),
    query: new URLSearchParams(q < 0 ? "" : url.slice(q + 1)),
  };
}

const encoder = new TextEncoder();

export function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === "string" ? encoder.encode(chunk) : chunk;
}

/** Reads a request body as text up to `max` bytes; throws a message fit for a 400. */
export async function readText(req: HttpRequest, max = 64 * 1024): Promise<string> {
  // decoded once at the end: a chunk may end in the middle of a UTF-8 character
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > max) throw new Error(`request body larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a JSON request body up to `max` bytes; throws a message fit for a 400. */
export async function readJson(req: HttpRequest, max = 64 * 1024): Promise<unknown> {
  const text = await readText(req, max);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`request body is not JSON: ${(e as Error).message}`);
  }
}
