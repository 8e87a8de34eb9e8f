/**
 * The agent's HTTP service on node:http (Node: the armv7 binary, tests). node:http enforces the
 * limits itself: header and request timeouts, the idle timeout, and `maxConnections`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type BodyStream,
  type HttpReply,
  type HttpRequest,
  jsonError,
  type Listener,
  type ServeOptions,
  splitUrl,
} from "./exchange.ts";

export async function serve(o: ServeOptions): Promise<Listener> {
  const { limits } = o;
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: Math.min(5_000, limits.idleTimeoutMs),
      // how often node:http checks the two timeouts above (default 30 s)
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, limits.headersTimeoutMs / 2)),
    },
    (req, res) => {
      exchange(o, req, res).catch((e: unknown) => {
        o.onError(req.url ?? "/", e);
        if (!res.headersSent) void send(res, jsonError(500, "internal error"), () => false);
        else res.destroy();
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (e) => o.onError("", e));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function exchange(o: ServeOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { path, query } = splitUrl(req.url ?? "/");
  const gone = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) gone.abort();
  });
  let read = false;
  const request: HttpRequest = {
    method: req.method ?? "GET",
    path,
    query,
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(", ") : v;
    },
    get body() {
      read = true;
      return req as AsyncIterable<Uint8Array>;
    },
    signal: gone.signal,
  };
  const reply = await o.handler(request);
  if (!read) req.resume();
  await send(res, reply, () => gone.signal.aborted);
}

async function send(res: ServerResponse, reply: HttpReply, isGone: () => boolean): Promise<void> {
  const headers: Record<string, string | number> = { ...reply.headers };
  if (reply.close) headers.connection = "close";
  const { body } = reply;
  if (body === undefined || typeof body === "string" || body instanceof Uint8Array) {
    if (body !== undefined) headers["content-length"] = Buffer.byteLength(body);
    res.writeHead(reply.status, headers).end(body);
    return;
  }
  if (reply.length !== undefined) headers["content-length"] = reply.length;
  res.writeHead(reply.status, headers);
  await pump(res, body, isGone);
}

/** Writes a streamed body as the client takes it; tells the producer when the client goes away. */
async function pump(res: ServerResponse, body: BodyStream, isGone: () => boolean): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  const stop = () => void it.return?.();
  res.once("close", stop);
  // the headers of a stream that waits for its first chunk (server-sent events) go out now
  res.flushHeaders();
  let ended = false;
  try {
    for (;;) {
      const next = await it.next();
      if (next.done || isGone()) break;
      if (!res.write(next.value))
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done).off("close", done);
            resolve();
          };
          res.once("drain", done).once("close", done);
        });
    }
    ended = !isGone();
  } finally {
    res.off("close", stop);
    if (ended) res.end();
    else {
      stop();
      res.destroy();
    }
  }
}
