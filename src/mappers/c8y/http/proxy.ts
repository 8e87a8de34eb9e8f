/**
 * thin-edge's local Cumulocity proxy (`c8y_auth_proxy`): `http://127.0.0.1:8001/c8y/<REST path>`
 * is forwarded to the tenant with the device's credentials, so local processes (the agent
 * downloading a tenant-hosted file, a user's script) need none. Every method, query and body is
 * passed through, streamed; a client's own `Authorization` is kept; UI paths (`*.js`, `apps/`)
 * are refused, since opening them would revoke the device token; the tenant unreachable is a
 * plain-text 502. A WebSocket upgrade is relayed to the tenant over TLS with the credentials added.
 * Served like the agent's HTTP service: `Bun.serve` under Bun, node:http under Node
 * (src/foundation/http/exchange.ts).
 */
import { PROXY_PATH_PREFIX } from "../../../api/clouds/c8y.ts";
import { isBun } from "../../../bus/net/net.ts";
import { lazy } from "../../../foundation/builtin.ts";
import type {
  HttpLimits,
  HttpReply,
  HttpRequest,
  Listener,
  WebSocketTarget,
} from "../../../foundation/http/exchange.ts";
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

/**
 * node:http's defaults, which the proxy always had (a request head within 60 s, the whole request
 * within 5 minutes), a connection idle for 2 minutes closed, and at most 64 requests at once.
 */
export const PROXY_LIMITS: HttpLimits = {
  headersTimeoutMs: 60_000,
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 120_000,
  maxConnections: 64,
};

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
  private listener?: Listener;

  constructor(
    private readonly http: TenantHttp,
    private readonly onError: (e: unknown) => void = () => {},
    private readonly limits: HttpLimits = PROXY_LIMITS,
  ) {}

  async listen(host: string, port: number): Promise<number> {
    const { serve } = isBun()
      ? await import("../../../foundation/http/serve-bun.ts")
      : await import("../../../foundation/http/serve-node.ts");
    this.listener = await serve({
      host,
      port,
      limits: this.limits,
      handler: (req) => this.handle(req),
      upgrade: (req) => this.upgrade(req),
      onError: (_path, e) => this.onError(e),
    });
    return this.listener.port;
  }

  async close(): Promise<void> {
    const l = this.listener;
    this.listener = undefined;
    await l?.close();
  }

  private async handle(req: HttpRequest): Promise<HttpReply> {
    const target = tenantPath(req.url);
    if ("error" in target) return plain(target.status, target.error);
    try {
      return await this.forward(req, target.path);
    } catch (e) {
      this.onError(e);
      return plain(502, `Bad Gateway: ${(e as Error).message}`);
    }
  }

  private async forward(req: HttpRequest, path: string): Promise<HttpReply> {
    const headers: Record<string, string> = {};
    for (const [k, v] of req.headers()) if (!HOP.has(k)) headers[k] = v;
    const hasBody =
      req.header("content-length") !== undefined || req.header("transfer-encoding") !== undefined;
    const keepAuthorization = headers.authorization !== undefined;
    // A streamed body cannot be sent twice: make sure the token is good first (thin-edge asks
    // HEAD /tenant/currentTenant), so a 401 is the tenant's verdict on the request itself.
    if (hasBody && !keepAuthorization) {
      const check = await this.http.request({ method: "HEAD", path: "/tenant/currentTenant" });
      check.resume();
    }
    const upstream = await this.http.request({
      method: req.method,
      path,
      headers,
      keepAuthorization,
      once: hasBody,
      body: hasBody ? () => lazy.stream().Readable.from(req.body) : undefined,
    });
    const status = upstream.statusCode ?? 502;
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(upstream.headers))
      if ((typeof v === "string" || Array.isArray(v)) && !HOP.has(k)) out[k] = v;
    // no body to send (RFC 9110 §6.4.1): Bun.serve refuses one for these
    if (req.method === "HEAD" || status === 204 || status === 304) {
      upstream.resume();
      return { status, headers: out };
    }
    const length = out["content-length"];
    delete out["content-length"];
    return {
      status,
      headers: out,
      body: upstream,
      length: typeof length === "string" ? Number(length) : undefined,
    };
  }

  private async upgrade(req: HttpRequest): Promise<HttpReply | WebSocketTarget> {
    const target = tenantPath(req.url);
    if ("error" in target) return plain(target.status, target.error);
    try {
      const headers: Record<string, string> = req.header("authorization")
        ? {}
        : { Authorization: await this.http.authorization() };
      return { ...this.http.o.endpoint, path: target.path, headers, tls: this.http.tls() };
    } catch (e) {
      this.onError(e);
      return plain(502, `Bad Gateway: ${(e as Error).message}`);
    }
  }
}

function plain(status: number, text: string): HttpReply {
  return { status, headers: { "content-type": "text/plain; charset=utf-8" }, body: `${text}\n` };
}
