import { isBun } from "../../bus/net/net.ts";
import type { HttpLimits, HttpReply, HttpRequest, Listener } from "../../foundation/http/exchange.ts";
import { jsonError } from "../../foundation/http/exchange.ts";
import type { Logger } from "../../foundation/logger.ts";
import { type EntitiesOptions, handleEntities } from "./entities.ts";
import { type FilesOptions, handleFiles } from "./files.ts";

export type { HttpLimits } from "../../foundation/http/exchange.ts";

const FILES = "/te/v1/files/";
const ENTITIES = "/te/v1/entities";

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 600_000,
  // long enough for a log_upload that scans a large log between two matching lines
  idleTimeoutMs: 120_000,
  maxConnections: 32,
};

/** A service mounted under a path prefix (the console at `/console/`), given the path below it. */
export type Mounted = (req: HttpRequest, path: string) => Promise<HttpReply>;

export interface HttpOptions {
  host: string;
  port: number;
  files: FilesOptions;
  entities: EntitiesOptions;
  log: Logger;
  limits?: Partial<HttpLimits>;
}

/**
 * The agent's HTTP service: `Bun.serve` under Bun, node:http under Node, picked at run time like
 * the socket layer (src/bus/net/select.ts); the handlers see only exchange.ts.
 */
export class AgentHttpServer {
  private listener?: Listener;
  private readonly mounts = new Map<string, Mounted>();

  constructor(private readonly opts: HttpOptions) {}

  async start(): Promise<void> {
    const { serve } = isBun()
      ? await import("../../foundation/http/serve-bun.ts")
      : await import("../../foundation/http/serve-node.ts");
    this.listener = await serve({
      host: this.opts.host,
      port: this.opts.port,
      limits: { ...DEFAULT_HTTP_LIMITS, ...this.opts.limits },
      handler: (req) => this.route(req),
      onError: (path, e) => this.opts.log.error("HTTP request failed", { path, error: e }),
    });
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
    return this.listener?.port ?? this.opts.port;
  }

  async stop(): Promise<void> {
    await this.listener?.close();
    this.listener = undefined;
  }

  private async route(req: HttpRequest): Promise<HttpReply> {
    const { path } = req;
    for (const [prefix, handler] of this.mounts) {
      if (path === prefix.slice(0, -1)) return { status: 301, headers: { location: prefix } };
      if (path.startsWith(prefix)) return handler(req, path.slice(prefix.length));
    }
    if (path.startsWith(FILES)) return handleFiles(req, path.slice(FILES.length), this.opts.files);
    if (path === ENTITIES || path.startsWith(`${ENTITIES}/`))
      return handleEntities(req, path.slice(ENTITIES.length + 1), this.opts.entities);
    return jsonError(404, `no such endpoint ${path}`);
  }
}
