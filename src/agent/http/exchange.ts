/**
 * The agent's HTTP service as its handlers see it, whichever server runs it: `Bun.serve` under
 * Bun (the x64/arm64 binaries; node:http and node streams never loaded), node:http under Node
 * (the armv7 SEA binary, tests). A handler reads an `HttpRequest` and returns an `HttpReply`;
 * the two adapters (serve-bun.ts, serve-node.ts) do the rest, and enforce `HttpLimits` alike.
 */

export interface HttpRequest {
  readonly method: string;
  /** The raw (still percent-encoded) path, without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
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
  headers?: Record<string, string>;
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

export interface ServeOptions {
  host: string;
  port: number;
  limits: HttpLimits;
  handler: Handler;
  /** A handler that threw: logged, and answered with a 500 when nothing was sent yet. */
  onError: (path: string, e: unknown) => void;
}

export function jsonReply(status: number, body: unknown): HttpReply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

export function jsonError(status: number, error: string): HttpReply {
  return jsonReply(status, { error });
}

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
