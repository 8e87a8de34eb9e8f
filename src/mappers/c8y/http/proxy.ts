/**
 * thin-edge's local Cumulocity proxy (`c8y_auth_proxy`): `http://127.0.0.1:8001/c8y/<REST path>`
 * is forwarded to the tenant with the device's credentials, so local processes (the agent
 * downloading a tenant-hosted file, a user's script) need none. Every method, query and body is
 * passed through, streamed; a client's own `Authorization` is kept; UI paths (`*.js`, `apps/`)
 * are refused, since opening them would revoke the device token; the tenant unreachable is a
 * plain-text 502. A WebSocket upgrade is tunnelled to the tenant over TLS with the credentials added.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { PROXY_PATH_PREFIX } from "../../../api/clouds/c8y.ts";
import type { TenantHttp } from "./client.ts";

/** Hop-by-hop headers are the connection's own, never forwarded (RFC 9110 §7.6.1). */
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
]);

/** The tenant path for a proxy path, or an error for paths the proxy refuses. */
export function tenantPath(url: string): { path: string } | { status: number; error: string } {
  if (!url.startsWith(`${PROXY_PATH_PREFIX}/`))
    return { status: 404, error: `only ${PROXY_PATH_PREFIX}/<Cumulocity REST path> is proxied` };
  const path = url.slice(PROXY_PATH_PREFIX.length);
  const bare = path.split("?")[0]!;
  if (bare.endsWith(".js") || /^\/apps(\/|$)/.test(bare))
    return { status: 403, error: "the Cumulocity UI is not proxied (it would revoke the device token)" };
  return { path };
}

export class C8yProxy {
  private server?: Server;

  constructor(
    private readonly http: TenantHttp,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.onError(e);
        if (!res.headersSent) plain(res, 502, `Bad Gateway: ${(e as Error).message}`);
        else res.destroy();
      });
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(req, socket as Socket, head).catch((e: unknown) => {
        this.onError(e);
        socket.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const target = tenantPath(req.url ?? "/");
    if ("error" in target) {
      socket.end(
        `HTTP/1.1 ${target.status} Refused\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${target.error}\n`,
      );
      return;
    }
    const auth = req.headers.authorization ? undefined : await this.http.authorization();
    const { host, port } = this.http.o.endpoint;
    const upstream = this.http.connect();
    upstream.once("secureConnect", () => {
      upstream.write(upgradeHead(req, target.path, port === 443 ? host : `${host}:${port}`, auth));
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", (e) => {
      this.onError(e);
      if (!socket.destroyed)
        socket.end(
          "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nBad Gateway\n",
        );
    });
    socket.on("error", () => upstream.destroy());
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = tenantPath(req.url ?? "/");
    if ("error" in target) return plain(res, target.status, target.error);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined && !HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const hasBody =
      req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
    const keepAuthorization = headers.authorization !== undefined;
    // A streamed body cannot be sent twice: make sure the token is good first (thin-edge asks
    // HEAD /tenant/currentTenant), so a 401 is the tenant's verdict on the request itself.
    if (hasBody && !keepAuthorization) {
      const check = await this.http.request({ method: "HEAD", path: "/tenant/currentTenant" });
      check.resume();
    }
    const upstream = await this.http.request({
      method: req.method ?? "GET",
      path: target.path,
      headers,
      keepAuthorization,
      once: hasBody,
      body: hasBody ? () => req : undefined,
    });
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(upstream.headers))
      if ((typeof v === "string" || Array.isArray(v)) && !HOP.has(k)) out[k] = v;
    res.writeHead(upstream.statusCode ?? 502, out);
    upstream.pipe(res);
  }
}

/** The raw request head of an upgrade, for the tenant: its own Host, the device's credentials. */
export function upgradeHead(
  req: IncomingMessage,
  path: string,
  host: string,
  authorization?: string,
): string {
  const lines = [`${req.method ?? "GET"} ${path} HTTP/1.1`, `Host: ${host}`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.toLowerCase() === "host" || (authorization && k.toLowerCase() === "authorization")) continue;
    lines.push(`${k}: ${raw[i + 1]}`);
  }
  if (authorization) lines.push(`Authorization: ${authorization}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(`${text}\n`);
}
