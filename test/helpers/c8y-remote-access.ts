import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import type WebSocket from "ws";
import { createWebSocketStream, WebSocketServer } from "ws";
import { freePort } from "./ports.ts";

/**
 * A stand-in for Cumulocity's cloud remote access: the device side is the documented WebSocket
 * endpoint `/service/remoteaccess/device/<connection key>` (authenticated as the device with its
 * JWT, subprotocol `binary`); the user side is a TCP port per session (what the Cumulocity UI's
 * PASSTHROUGH gives a user). A user connection triggers the `530` request, as Cumulocity does.
 */
export interface RemoteAccessStandIn {
  endpoint: string;
  /** The device's current JWT; change it to revoke the one the device holds. */
  token: string;
  /** Every upgrade request seen, and why it was refused (if it was). */
  requests: { url: string; authorization?: string; protocol?: string; refused?: string }[];
  /** Most device tunnels open at the same time. */
  maxOpen: number;
  /** Device tunnels closed, with who closed first. */
  closed: { key: string; by: "device" | "user" }[];
  /** A user-side port for one connection to `host:port` on the device. */
  session(host: string, port: number): Promise<{ userPort: number; key: string }>;
  stop(): Promise<void>;
}

export async function startRemoteAccessStandIn(
  request530: (line: string) => Promise<void>,
  deviceId: string,
): Promise<RemoteAccessStandIn> {
  const token = randomBytes(24).toString("base64url");
  const pending = new Map<string, (ws: WebSocket) => void>();
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  let open = 0;
  const wsPort = await freePort();
  const self: RemoteAccessStandIn = {
    endpoint: `ws://127.0.0.1:${wsPort}`,
    token,
    requests: [],
    maxOpen: 0,
    closed: [],
    session: async (host, port) => {
      const key = randomBytes(12).toString("hex");
      const srv = createServer((user) => {
        sockets.add(user);
        user.pause();
        pending.set(key, (ws) => {
          open++;
          self.maxOpen = Math.max(self.maxOpen, open);
          const stream = createWebSocketStream(ws);
          let done = false;
          const finish = (by: "device" | "user") => {
            if (done) return;
            done = true;
            open--;
            self.closed.push({ key, by });
            user.destroy();
            ws.terminate();
          };
          ws.on("close", () => finish("device"));
          user.on("close", () => finish("user"));
          stream.on("error", () => finish("device"));
          user.on("error", () => finish("user"));
          stream.pipe(user);
          user.pipe(stream);
          user.resume();
        });
        void request530(`530,${deviceId},${host},${port},${key}`);
      });
      servers.push(srv);
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
      const a = srv.address();
      return { userPort: typeof a === "object" && a ? a.port : 0, key };
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      for (const s of servers) s.close();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
  const wss = new WebSocketServer({
    port: wsPort,
    host: "127.0.0.1",
    handleProtocols: (protocols) => (protocols.has("binary") ? "binary" : false),
    verifyClient: (
      info: { req: IncomingMessage },
      cb: (ok: boolean, code?: number, msg?: string) => void,
    ) => {
      const req = info.req;
      const rec: RemoteAccessStandIn["requests"][number] = {
        url: req.url ?? "",
        authorization: req.headers.authorization,
        protocol: req.headers["sec-websocket-protocol"],
      };
      self.requests.push(rec);
      const m = /^\/service\/remoteaccess\/device\/([^/?]+)$/.exec(req.url ?? "");
      const refuse = (code: number, why: string) => {
        rec.refused = why;
        cb(false, code, why);
      };
      if (req.method !== "GET" || !m) return refuse(404, "not the device endpoint");
      if (req.headers.authorization !== `Bearer ${self.token}`)
        return refuse(401, "not authenticated as the device");
      if (
        rec.protocol
          ?.split(",")
          .map((p) => p.trim())
          .includes("binary") !== true
      )
        return refuse(400, "subprotocol binary required");
      if (!pending.has(m[1]!)) return refuse(404, "unknown connection key");
      cb(true);
    },
  });
  wss.on("connection", (ws, req) => {
    const key = /device\/([^/?]+)$/.exec(req.url ?? "")![1]!;
    const attach = pending.get(key)!;
    pending.delete(key);
    attach(ws);
  });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  return self;
}
