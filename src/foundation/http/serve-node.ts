/**
 * An HTTP service on node:http (Node: the armv7 binary, tests). node:http enforces the limits
 * itself: header and request timeouts, the idle timeout, and `maxConnections`. A WebSocket
 * upgrade (`o.upgrade`) is tunnelled to its target over TLS byte for byte: the target answers the
 * client's own handshake.
 */
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { lazy } from "../builtin.ts";
import {
  BAD_GATEWAY,
  type BodyStream,
  type HttpReply,
  type HttpRequest,
  isReply,
  jsonError,
  type Listener,
  type ServeOptions,
  splitUrl,
  type UpgradeHandler,
  type WebSocketTarget,
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
  const { upgrade } = o;
  if (upgrade)
    server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      tunnel(upgrade, req, socket, head, (e) => o.onError(req.url ?? "/", e)).catch((e: unknown) => {
        o.onError(req.url ?? "/", e);
        socket.destroy();
      });
    });
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

function requestOf(req: IncomingMessage, signal: AbortSignal, onRead: () => void): HttpRequest {
  const { path, query } = splitUrl(req.url ?? "/");
  return {
    method: req.method ?? "GET",
    url: req.url ?? "/",
    path,
    query,
    header: (name) => joined(req.headers[name]),
    *headers() {
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) yield [k, Array.isArray(v) ? v.join(", ") : v];
    },
    get body() {
      onRead();
      return req as AsyncIterable<Uint8Array>;
    },
    signal,
  };
}

function joined(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
}

async function exchange(o: ServeOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const gone = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) gone.abort();
  });
  let read = false;
  const request = requestOf(req, gone.signal, () => {
    read = true;
  });
  const reply = await o.handler(request);
  if (!read) req.resume();
  await send(res, reply, () => gone.signal.aborted);
}

async function send(res: ServerResponse, reply: HttpReply, isGone: () => boolean): Promise<void> {
  const headers: Record<string, string | string[] | number> = { ...reply.headers };
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

/** An upgrade refused, or piped to its target over TLS once the handshake is written there. */
async function tunnel(
  upgrade: UpgradeHandler,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  onError: (e: unknown) => void,
): Promise<void> {
  const gone = new AbortController();
  socket.once("close", () => gone.abort());
  const target = await upgrade(requestOf(req, gone.signal, () => {}));
  if (isReply(target)) return void socket.end(rawReply(target));
  const upstream = lazy.tls().connect({ host: target.host, port: target.port, ...target.tls });
  upstream.once("secureConnect", () => {
    upstream.write(upgradeHead(req, target));
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on("error", (e: Error) => {
    onError(e);
    if (!socket.destroyed) socket.end(rawReply(BAD_GATEWAY));
  });
  socket.on("error", () => upstream.destroy());
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => socket.destroy());
}

/** The client's handshake for the target: its Host, the target's headers replacing the client's. */
function upgradeHead(req: IncomingMessage, target: WebSocketTarget): string {
  const { host, port } = target;
  const name = host.includes(":") ? `[${host}]` : host;
  const lines = [
    `${req.method ?? "GET"} ${target.path} HTTP/1.1`,
    `Host: ${port === 443 ? name : `${name}:${port}`}`,
  ];
  const replaced = new Set(Object.keys(target.headers).map((k) => k.toLowerCase()));
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (k !== "host" && !replaced.has(k)) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  for (const [k, v] of Object.entries(target.headers)) lines.push(`${k}: ${v}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** A reply written on a raw socket (an upgrade refused): text or bytes, then the connection closed. */
function rawReply(reply: HttpReply): Buffer {
  const body =
    typeof reply.body === "string" || reply.body instanceof Uint8Array
      ? Buffer.from(reply.body)
      : Buffer.alloc(0);
  const lines = [`HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ""}`];
  for (const [k, v] of Object.entries(reply.headers ?? {})) lines.push(`${k}: ${v}`);
  lines.push(`Content-Length: ${body.length}`, "Connection: close");
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), body]);
}
