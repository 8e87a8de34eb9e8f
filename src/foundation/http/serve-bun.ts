/**
 * An HTTP service on `Bun.serve` (the x64/arm64 binaries): no node:http, no node streams.
 * Bun.serve has no per-request body deadline nor a connection limit, so this adapter keeps them:
 * - headers: uWebSockets closes a connection that has not sent a complete request head within its
 *   own ~10 s, trickled or not (not configurable; `headersTimeoutMs` is node:http's only);
 * - the request body must arrive within `requestTimeoutMs`, and no read may stall for
 *   `idleTimeoutMs`: past either, the answer is 408 and the connection is closed;
 * - a streamed reply the client stops taking for `idleTimeoutMs` is dropped;
 * - between requests a connection stays open `idleTimeout` (at most 5 s, like node:http's keep-alive);
 * - more than `maxConnections` requests at once: 503 and the connection closed.
 * A WebSocket upgrade (`o.upgrade`) is relayed by websocket-relay.ts.
 */
import type { Server } from "bun";
import {
  BAD_GATEWAY,
  type BodyStream,
  type HttpReply,
  type HttpRequest,
  isReply,
  isWebSocketUpgrade,
  jsonError,
  type Listener,
  type ServeOptions,
  splitUrl,
  toBytes,
  type UpgradeHandler,
} from "./exchange.ts";
import { openUpstream, type Relay, relayHandlers } from "./websocket-relay.ts";

class TimedOut extends Error {}

export async function serve(o: ServeOptions): Promise<Listener> {
  const server = Bun.serve({
    hostname: o.host,
    port: o.port,
    idleTimeout: Math.max(1, Math.ceil(Math.min(5_000, o.limits.idleTimeoutMs) / 1000)),
    // the handlers hold uploads to their own limit (agent.file_transfer.max_bytes)
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    development: false,
    fetch: (req, srv) => exchange(o, req, srv),
    websocket: relayHandlers,
    error(e) {
      o.onError("", e);
      return toResponse(jsonError(500, "internal error"), o);
    },
  });
  return {
    port: server.port ?? o.port,
    async close() {
      await server.stop(true);
    },
  };
}

async function exchange(o: ServeOptions, req: Request, srv: Server<Relay>): Promise<Response | undefined> {
  const { limits } = o;
  // this request is counted too
  if (srv.pendingRequests > limits.maxConnections)
    return toResponse({ ...jsonError(503, "too many requests at once"), close: true }, o);
  const target = req.url.slice(req.url.indexOf("/", req.url.indexOf("//") + 2));
  const { path, query } = splitUrl(target);
  const timeUp = new AbortController();
  const deadline = setTimeout(() => timeUp.abort(new TimedOut("request timeout")), limits.requestTimeoutMs);
  const request: HttpRequest = {
    method: req.method,
    url: target,
    path,
    query,
    header: (name) => req.headers.get(name) ?? undefined,
    headers: () => req.headers.entries(),
    body: guardedBody(req.body, limits.idleTimeoutMs, timeUp.signal, () => clearTimeout(deadline)),
    signal: AbortSignal.any([req.signal, timeUp.signal]),
  };
  let reply: HttpReply;
  try {
    if (o.upgrade && isWebSocketUpgrade(request.header)) {
      const refused = await relay(o.upgrade, request, req, srv, (e) => o.onError(path, e));
      if (!refused) return undefined;
      reply = refused;
    } else reply = await o.handler(request);
  } catch (e) {
    if (!timeUp.signal.aborted) {
      o.onError(path, e);
      reply = jsonError(500, "internal error");
    } else reply = { status: 408 };
  } finally {
    clearTimeout(deadline);
  }
  if (timeUp.signal.aborted) reply = { ...jsonError(408, "request took too long"), close: true };
  return toResponse(reply, o);
}

/** Upgrades the client once its target has accepted; else the reply that refuses it. */
async function relay(
  upgrade: UpgradeHandler,
  request: HttpRequest,
  req: Request,
  srv: Server<Relay>,
  onError: (e: unknown) => void,
): Promise<HttpReply | undefined> {
  const target = await upgrade(request);
  if (isReply(target)) return { ...target, close: true };
  const relay = await openUpstream(target, req.headers).catch((e: unknown) => {
    onError(e);
    return undefined;
  });
  if (!relay) return BAD_GATEWAY;
  const protocol = relay.upstream.protocol;
  if (srv.upgrade(req, { data: relay, headers: protocol ? { "sec-websocket-protocol": protocol } : {} }))
    return undefined;
  relay.upstream.close();
  return { ...jsonError(400, "not a WebSocket handshake"), close: true };
}

/** The request body; a read that outlives the request's deadline or stalls throws `TimedOut`. */
async function* guardedBody(
  body: ReadableStream<Uint8Array> | null,
  idleMs: number,
  timeUp: AbortSignal,
  done: () => void,
): AsyncGenerator<Uint8Array> {
  if (!body) return done();
  const reader = body.getReader();
  try {
    for (;;) {
      const next = await within(reader.read(), idleMs, timeUp);
      if (next.done) return done();
      yield next.value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function within<T>(p: Promise<T>, idleMs: number, timeUp: AbortSignal): Promise<T> {
  if (timeUp.aborted) return Promise.reject(timeUp.reason);
  return new Promise<T>((resolve, reject) => {
    const fail = (e: unknown) => {
      clearTimeout(idle);
      timeUp.removeEventListener("abort", onAbort);
      reject(e);
    };
    const onAbort = () => fail(timeUp.reason);
    const idle = setTimeout(() => fail(new TimedOut("request body stalled")), idleMs);
    timeUp.addEventListener("abort", onAbort, { once: true });
    p.then((v) => {
      clearTimeout(idle);
      timeUp.removeEventListener("abort", onAbort);
      resolve(v);
    }, fail);
  });
}

function toResponse(reply: HttpReply, o: ServeOptions): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(reply.headers ?? {}))
    for (const one of typeof v === "string" ? [v] : v) headers.append(k, one);
  if (reply.close) headers.set("connection", "close");
  const { body } = reply;
  const init = { status: reply.status, headers };
  if (body === undefined || typeof body === "string" || body instanceof Uint8Array)
    return new Response(body ?? null, init);
  return new Response(streamOf(body, o.limits.idleTimeoutMs), init);
}

/**
 * A streamed body pulled as the client takes it: cancelled (the producer's `return()`) when the
 * client goes away, errored (the connection dropped) when the client stops taking it for `idleMs`.
 */
function streamOf(body: BodyStream, idleMs: number): ReadableStream<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let stalled: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        clearTimeout(stalled);
        const next = await it.next();
        if (next.done) return c.close();
        c.enqueue(toBytes(next.value));
        stalled = setTimeout(() => {
          c.error(new TimedOut("client stopped reading"));
          void it.return?.();
        }, idleMs);
      },
      cancel() {
        clearTimeout(stalled);
        void it.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
