/**
 * Remote access tunnels: for each `530` request, a TCP connection to the allowed local service
 * and the WebSocket Cumulocity expects from the device, bytes copied both ways until either side
 * closes, then both closed. Several tunnels run at once; each lives on its own.
 */
import type { Socket } from "node:net";
import type WebSocket from "ws";
import { lazy } from "../../../foundation/builtin.ts";
import type { Logger } from "../../../foundation/logger.ts";
import { allowed, parse530, tunnelUrl } from "./request.ts";

export interface RemoteAccessOptions {
  /** `wss://<tenant>` (or a stand-in's `ws://host:port`). */
  endpoint: string;
  /** `host:port` entries the device may connect to. */
  allow: string[];
  /** The `Authorization` header value (Bearer JWT or Basic). */
  authorization: () => Promise<string>;
  /** Cumulocity refused the credentials (401): a cached token is stale. */
  refused?: () => void;
  log: Logger;
  /** Both ends must be up within this time. */
  connectTimeoutMs?: number;
}

interface Session {
  ws: WebSocket;
  sock: Socket;
}

export class RemoteAccess {
  private readonly sessions = new Set<Session>();

  constructor(private readonly opts: RemoteAccessOptions) {}

  /** Tunnels open now. */
  active(): number {
    return this.sessions.size;
  }

  /**
   * Opens the tunnel for one `530` line. Resolves once both ends are connected (the operation is
   * then successful while the tunnel lives on); rejects with the reason otherwise.
   */
  async connect(line: string): Promise<void> {
    const r = parse530(line);
    if (!r.ok) throw new Error(r.error);
    const { host, port, key } = r.value;
    if (!allowed(this.opts.allow, host, port))
      throw new Error(`remote access to ${host}:${port} is not allowed (c8y.remote_access.allow)`);
    const authorization = await this.opts.authorization();
    // loaded at the first tunnel: ws brings node:http, node:https, node:net, node:tls, node:zlib
    const { default: WebSocket, createWebSocketStream } = await import("ws");
    const ws = new WebSocket(tunnelUrl(this.opts.endpoint, key), "binary", {
      headers: { Authorization: authorization },
      handshakeTimeout: this.opts.connectTimeoutMs ?? 30_000,
    });
    // The stream exists from the start: what the user sends while the local side still connects
    // is buffered, not dropped.
    const stream = createWebSocketStream(ws);
    stream.on("error", () => {});
    const sock = lazy.net().connect({ host, port });
    const s: Session = { ws, sock };
    try {
      await Promise.all([opened(ws), connected(sock, this.opts.connectTimeoutMs ?? 30_000)]);
    } catch (e) {
      ws.terminate();
      sock.destroy();
      if (/HTTP 401/.test((e as Error).message)) this.opts.refused?.();
      throw new Error(`remote access to ${host}:${port}: ${(e as Error).message}`);
    }
    this.sessions.add(s);
    this.opts.log.info("remote access tunnel open", { host, port });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.sessions.delete(s);
      sock.destroy();
      if (ws.readyState === ws.OPEN) ws.close(1000);
      else ws.terminate();
      this.opts.log.info("remote access tunnel closed", { host, port });
    };
    stream.on("error", close);
    sock.on("error", close);
    stream.on("close", close);
    sock.on("close", close);
    ws.on("close", close);
    stream.pipe(sock);
    sock.pipe(stream);
  }

  closeAll(): void {
    for (const s of [...this.sessions]) {
      s.sock.destroy();
      s.ws.terminate();
    }
    this.sessions.clear();
  }
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) =>
      reject(new Error(`Cumulocity refused the tunnel: HTTP ${res.statusCode}`)),
    );
    ws.once("error", (e) => reject(e));
  });
}

function connected(sock: Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("connection timed out")), timeoutMs);
    sock.once("connect", () => {
      clearTimeout(t);
      resolve();
    });
    sock.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}
