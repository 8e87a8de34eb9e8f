/**
 * The console's HTTP side under `/console/`: the page, a snapshot, the live stream (server-sent
 * events fed by the model's deltas), and the commissioning writes — device files checked by their
 * owner's validator and applied as a real `config_update` command (the path a cloud operator's
 * request takes), and a one-off register read as a `modbus_read` command to the Modbus component.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { topicFor } from "../../api/topics.ts";
import type { Bus } from "../../bus/bus.ts";
import {
  type HttpReply,
  type HttpRequest,
  jsonError,
  jsonReply,
  readJson,
  readText,
} from "../../foundation/http/exchange.ts";
import { isObj } from "../../foundation/json.ts";
import type { Logger } from "../../foundation/logger.ts";
import { PushStream } from "../http/push-stream.ts";
import { consoleAssets, LOGIN_PAGE, page } from "./assets.ts";
import { type AuthPolicy, COOKIE, CSRF_HEADER, refusal } from "./auth.ts";
import type { ConsoleModel } from "./model.ts";

/** A device file the console edits: its config type, where it lives, and its owner's validator. */
export interface ConsoleFile {
  type: string;
  path: string;
  check?: (text: string, file: string) => string | undefined;
}

export interface ConsoleOptions {
  bus: Bus;
  root: string;
  model: ConsoleModel;
  policy: AuthPolicy;
  files: () => ConsoleFile[];
  /** Where the file-transfer service keeps files, and its URL (for config_update's tedgeUrl). */
  transfer: { dir: string; url: () => string };
  clock: () => number;
  log: Logger;
  /** How long a command the console starts may take. */
  commandTimeoutMs?: number;
}

const MAX_STREAMS = 16;
const MAX_FILE = 256 * 1024;
/** A stream this far behind is closed; the page reconnects and starts from a new snapshot. */
const MAX_BACKLOG = 1 << 20;

export class ConsoleService {
  private streams = new Set<PushStream>();
  private seq = 0;

  constructor(private readonly o: ConsoleOptions) {}

  async handle(req: HttpRequest, path: string): Promise<HttpReply> {
    const { method } = req;
    if (path === "login") return this.login(req);
    const refused = refusal(this.o.policy, {
      method,
      cookie: req.header("cookie"),
      authorization: req.header("authorization"),
      csrf: req.header(CSRF_HEADER),
      origin: req.header("origin"),
      host: req.header("host"),
    });
    if (refused) {
      if (refused.status === 401 && method === "GET" && !path.startsWith("api/"))
        return { status: 303, headers: { location: "/console/login" } };
      return jsonError(refused.status, refused.error);
    }
    const route = `${method} ${path}`;
    if (route === "GET " || route === "GET index.html")
      return this.send("text/html", page(this.o.policy.csrf));
    if (route === "GET app.js") return this.send("text/javascript", (await consoleAssets()).js);
    if (route === "GET app.css") return this.send("text/css", (await consoleAssets()).css);
    if (route === "GET api/snapshot") return jsonReply(200, this.o.model.snapshot(this.o.clock()));
    if (route === "GET api/stream") return this.stream();
    if (route === "POST api/modbus/read") return this.readRegisters(req);
    const file = /^api\/files\/([\w.-]+)(\/check)?$/.exec(path);
    if (file) {
      const f = this.o.files().find((x) => x.type === file[1]);
      if (!f)
        return jsonError(
          404,
          `no device file '${file[1]}' (known: ${this.o
            .files()
            .map((x) => x.type)
            .join(", ")})`,
        );
      if (method === "GET" && !file[2]) return this.getFile(f);
      if (method === "POST" && file[2]) return this.checkFile(req, f);
      if (method === "PUT" && !file[2]) return this.applyFile(req, f);
    }
    return jsonError(404, `no such console endpoint ${method} /console/${path}`);
  }

  stop(): void {
    for (const s of this.streams) s.end();
  }

  private send(type: string, body: string): HttpReply {
    return {
      status: 200,
      headers: {
        "content-type": `${type}; charset=utf-8`,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'self'; style-src 'self'; img-src 'self' data:",
        "x-frame-options": "DENY",
      },
      body,
    };
  }

  private async login(req: HttpRequest): Promise<HttpReply> {
    if (req.method !== "POST") return this.send("text/html", LOGIN_PAGE);
    const form = new URLSearchParams(await readText(req, 4096));
    const token = form.get("token") ?? "";
    if (!this.o.policy.token || refusal(this.o.policy, { method: "GET", authorization: `Bearer ${token}` }))
      return { status: 401, headers: { "content-type": "text/html; charset=utf-8" }, body: LOGIN_PAGE };
    return {
      status: 303,
      headers: {
        location: "/console/",
        "set-cookie": `${COOKIE}=${encodeURIComponent(token)}; Path=/console; HttpOnly; SameSite=Strict`,
      },
    };
  }

  /** Server-sent events: the model's deltas, ended when the page goes away or falls too far behind. */
  private stream(): HttpReply {
    if (this.streams.size >= MAX_STREAMS) return jsonError(503, `at most ${MAX_STREAMS} live streams`);
    const events: PushStream = new PushStream(MAX_BACKLOG, () => {
      off();
      clearInterval(ping);
      this.streams.delete(events);
    });
    // every (re)connect starts from a fresh snapshot: nothing sent while disconnected is missed
    events.push("retry: 2000\nevent: reset\ndata: {}\n\n");
    this.streams.add(events);
    const off = this.o.model.onDelta((d) => events.push(`data: ${JSON.stringify(d)}\n\n`));
    const ping = setInterval(() => events.push(": ping\n\n"), 15_000);
    return {
      status: 200,
      headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
      body: events,
    };
  }

  private async getFile(f: ConsoleFile): Promise<HttpReply> {
    const text = await readFile(f.path, "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return "";
      throw e;
    });
    return this.send("text/plain", text);
  }

  private async checkFile(req: HttpRequest, f: ConsoleFile): Promise<HttpReply> {
    const text = await readText(req, MAX_FILE);
    const problems = f.check?.(text, f.path);
    return jsonReply(200, problems ? { ok: false, problems } : { ok: true });
  }

  /** Stages the text in the file-transfer store and runs config_update on it, as a cloud would. */
  private async applyFile(req: HttpRequest, f: ConsoleFile): Promise<HttpReply> {
    const text = await readText(req, MAX_FILE);
    const problems = f.check?.(text, f.path);
    if (problems) return jsonReply(422, { ok: false, problems });
    const id = `console-${this.o.clock()}-${++this.seq}`;
    const staged = join(this.o.transfer.dir, "console", `${id}-${f.type}`);
    await mkdir(join(this.o.transfer.dir, "console"), { recursive: true, mode: 0o750 });
    await writeFile(staged, text, { mode: 0o640 });
    try {
      const result = await this.command("device/main//", "config_update", id, {
        type: f.type,
        tedgeUrl: `${this.o.transfer.url()}/console/${id}-${f.type}`,
      });
      const ok = result.status === "successful";
      return jsonReply(ok ? 200 : 422, {
        ok,
        status: result.status,
        reason: result.reason,
        problems: result.reason,
      });
    } finally {
      await rm(staged, { force: true });
    }
  }

  private async readRegisters(req: HttpRequest): Promise<HttpReply> {
    const body = await readJson(req, 4096).catch((e: Error) => e);
    if (body instanceof Error) return jsonError(400, body.message);
    if (!isObj(body) || typeof body.device !== "string" || !/^[\w.-]+$/.test(body.device))
      return jsonError(400, "device must be a child device name");
    const { device, table, address, count } = body;
    const id = `console-${this.o.clock()}-${++this.seq}`;
    const result = await this.command(`device/${device}//`, "modbus_read", id, { table, address, count });
    return jsonReply(200, result);
  }

  /** Publishes a te/ command, waits for its terminal state, clears it; `failed` on timeout. */
  private async command(
    entity: string,
    op: string,
    id: string,
    payload: Record<string, unknown>,
  ): Promise<Record<string, unknown> & { status: string; reason?: string }> {
    const topic = topicFor(this.o.root, entity, "cmd", op, id);
    const timeoutMs = this.o.commandTimeoutMs ?? 30_000;
    let finish!: (r: Record<string, unknown> & { status: string }) => void;
    const done = new Promise<Record<string, unknown> & { status: string }>((r) => {
      finish = r;
    });
    const sub = await this.o.bus.subscribe(topic, (msg) => {
      if (!msg.payload.length) return;
      try {
        const p = JSON.parse(msg.payload.toString("utf8")) as Record<string, unknown>;
        if (p.status === "successful" || p.status === "failed") finish(p as never);
      } catch {
        // not ours to judge: the agent reports malformed commands on te/errors
      }
    });
    const timer = setTimeout(
      () =>
        finish({
          status: "failed",
          reason: `no answer to ${op} within ${timeoutMs / 1000} s (is the component that runs it up?)`,
        }),
      timeoutMs,
    );
    try {
      await this.o.bus.publish(topic, JSON.stringify({ status: "init", ...payload }), {
        retain: true,
        qos: 1,
      });
      return await done;
    } finally {
      clearTimeout(timer);
      await sub.unsubscribe();
      await this.o.bus.publish(topic, "", { retain: true, qos: 1 });
    }
  }
}
