import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../foundation/logger.ts";
import { type EntitiesOptions, handleEntities } from "./entities.ts";
import { type FilesOptions, handleFiles } from "./files.ts";
import { sendJsonError } from "./respond.ts";

const FILES = "/te/v1/files/";
const ENTITIES = "/te/v1/entities";

export interface HttpLimits {
  /** A client must send its request headers within this (slowloris). */
  headersTimeoutMs: number;
  /** The whole request, body included, within this: a 1 byte/s upload cannot hold a slot forever. */
  requestTimeoutMs: number;
  /** A connection idle this long is closed. */
  idleTimeoutMs: number;
  /** Connections open at once; more are refused until one closes. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 600_000,
  // long enough for a log_upload that scans a large log between two matching lines
  idleTimeoutMs: 120_000,
  maxConnections: 32,
};

/** A service mounted under a path prefix (the console at `/console/`). */
export type Mounted = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;

export interface HttpOptions {
  host: string;
  port: number;
  files: FilesOptions;
  entities: EntitiesOptions;
  log: Logger;
  limits?: Partial<HttpLimits>;
}

/** The agent's HTTP service (node:http, so the same code serves on Node and Bun). */
export class AgentHttpServer {
  private server?: Server;
  private readonly mounts = new Map<string, Mounted>();

  constructor(private readonly opts: HttpOptions) {}

  async start(): Promise<void> {
    const limits = { ...DEFAULT_HTTP_LIMITS, ...this.opts.limits };
    const server = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: Math.min(5_000, limits.idleTimeoutMs),
        // how often node:http checks the two timeouts above (default 30 s)
        connectionsCheckingInterval: Math.max(100, Math.min(30_000, limits.headersTimeoutMs / 2)),
      },
      (req, res) => {
        this.route(req, res).catch((e: unknown) => {
          this.opts.log.error("HTTP request failed", { url: req.url, error: e });
          if (!res.headersSent) sendJsonError(res, 500, "internal error");
          else res.destroy();
        });
      },
    );
    server.maxConnections = limits.maxConnections;
    server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (e) => this.opts.log.error("HTTP server error", { error: e.message }));
    this.server = server;
    this.opts.log.info("file transfer and entity HTTP service listening", {
      host: this.opts.host,
      port: this.port,
    });
  }

  /** Serves `prefix` (e.g. `/console/`) with `handler`, given the path below the prefix. */
  mount(prefix: string, handler: Mounted): void {
    this.mounts.set(prefix, handler);
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.opts.port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    for (const [prefix, handler] of this.mounts) {
      if (path === prefix.slice(0, -1)) {
        res.writeHead(301, { location: prefix }).end();
        return;
      }
      if (path.startsWith(prefix)) return handler(req, res, path.slice(prefix.length));
    }
    const query = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    if (path.startsWith(FILES)) return handleFiles(req, res, path.slice(FILES.length), this.opts.files);
    if (path === ENTITIES || path.startsWith(`${ENTITIES}/`))
      return handleEntities(req, res, path.slice(ENTITIES.length + 1), query, this.opts.entities);
    req.resume();
    sendJsonError(res, 404, `no such endpoint ${path}`);
  }
}
