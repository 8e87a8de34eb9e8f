/**
 * HTTPS to the Cumulocity tenant: the device certificate on the TLS connection, and
 * `Authorization: Bearer <JWT>` (the token from JWT over MQTT) or, for a basic-auth device, `Basic`. A 401 refreshes the token and
 * retries once, as thin-edge's HTTP proxy actor does; bodies are streams made anew for the retry,
 * so a file is never held in memory.
 */
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { lazy } from "../../../foundation/builtin.ts";
import type { UpstreamTls } from "../../../foundation/http/exchange.ts";

export interface TenantEndpoint {
  host: string;
  port: number;
}

/** The device's credentials for the tenant: a JWT (Bearer) or a username and password (Basic). */
export interface Credentials {
  /** The `Authorization` header value. */
  authorization(): Promise<string>;
  /** The tenant refused them (401): get fresh ones next time. */
  invalidate(): void;
}

export interface TenantHttpOptions {
  endpoint: TenantEndpoint;
  credentials: Credentials;
  /** Device certificate and key (PEM), presented when the tenant asks for one. */
  cert?: Buffer;
  key?: Buffer;
  /** Trusted roots; undefined: the runtime's built-in ones. */
  ca?: Buffer[];
  timeoutMs?: number;
}

export interface TenantRequest {
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  headers?: Record<string, string | number>;
  /** Made for each attempt: a fresh stream (or text) of the body. */
  body?: () => Readable | string | Buffer;
  /** Do not add `Authorization` (the local client sent its own); a 401 is then final. */
  keepAuthorization?: boolean;
  /** No second try on 401: the body (a client's stream) can be sent once only. */
  once?: boolean;
}

/** `host[:port]` (an https:// URL is accepted too) → the tenant's HTTPS endpoint. */
export function parseTenant(text: string): TenantEndpoint {
  const t = text
    .trim()
    .replace(/^https?:\/\//, "")
    .replace(/\/.*$/, "");
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(t);
  if (!m) throw new Error(`'${text}' is not a Cumulocity host (host or host:port)`);
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port: m[2] ? Number(m[2]) : 443 };
}

/** How the tenant's own URLs are written (`https://host[:port]`), e.g. in the 506 of an upload. */
export function tenantBase(e: TenantEndpoint): string {
  const host = e.host.includes(":") ? `[${e.host}]` : e.host;
  return e.port === 443 ? `https://${host}` : `https://${host}:${e.port}`;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly body: string,
  ) {
    super(`${method} ${path} returned HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ""}`);
  }
}

export class TenantHttp {
  constructor(readonly o: TenantHttpOptions) {}

  get base(): string {
    return tenantBase(this.o.endpoint);
  }

  /** Sends the request; on 401 (with our own token) a fresh token and one more try. */
  async request(r: TenantRequest): Promise<IncomingMessage> {
    const first = await this.once(r);
    if (first.statusCode !== 401 || r.keepAuthorization || r.once) {
      if (first.statusCode === 401 && !r.keepAuthorization) this.o.credentials.invalidate();
      return first;
    }
    first.resume();
    this.o.credentials.invalidate();
    return this.once(r);
  }

  /** A JSON request whose answer must be 2xx JSON. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const res = await this.request({
      method,
      path,
      headers: {
        Accept: "application/json",
        ...(text === undefined
          ? {}
          : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) }),
      },
      body: text === undefined ? undefined : () => text,
    });
    const answer = await readText(res);
    if (!res.statusCode || res.statusCode >= 300)
      throw new HttpError(res.statusCode ?? 0, method, path, answer);
    return JSON.parse(answer) as T;
  }

  /** `Authorization` for a request of our own. */
  async authorization(): Promise<string> {
    return this.o.credentials.authorization();
  }

  /** The TLS settings of a connection to the tenant: the device certificate, the trusted roots. */
  tls(): UpstreamTls {
    const { host } = this.o.endpoint;
    return {
      cert: this.o.cert,
      key: this.o.key,
      ca: this.o.ca,
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
    };
  }

  private async once(r: TenantRequest): Promise<IncomingMessage> {
    const headers: Record<string, string | number> = { ...r.headers };
    if (!r.keepAuthorization) headers.Authorization = await this.authorization();
    return new Promise((resolve, reject) => {
      const req = lazy.https().request(
        {
          host: this.o.endpoint.host,
          port: this.o.endpoint.port,
          method: r.method,
          path: r.path,
          headers,
          ...this.tls(),
          timeout: this.o.timeoutMs ?? 60_000,
        },
        resolve,
      );
      req.on("timeout", () => req.destroy(new Error(`${r.method} ${r.path}: no answer from Cumulocity`)));
      req.on("error", reject);
      const body = r.body?.();
      if (body === undefined) req.end();
      else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
      else {
        body.on("error", (e) => req.destroy(e));
        body.pipe(req);
      }
    });
  }
}

export async function readText(res: IncomingMessage, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res) {
    size += (c as Buffer).length;
    if (size <= limit) chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
