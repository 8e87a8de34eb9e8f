/**
 * A Cumulocity tenant's REST API as far as ledge uses it, over HTTPS with client certificates,
 * checking every request against Cumulocity's documented API (OpenAPI "Cumulocity IoT REST"):
 *   GET  /identity/externalIds/{type}/{externalId}      → 200 {externalId, type, managedObject:{id,self}}
 *   POST /event/events  (application/json, required source.id, type, text, time) → 201 event with id
 *   POST /event/events/{id}/binaries  (multipart/form-data, one part `file`) → 201; 409 when one exists
 *   GET  /event/events/{id}/binaries                    → the attached file
 *   GET  /inventory/binaries/{id}                       → a stored binary
 *   HEAD /tenant/currentTenant                          → 200
 * Every request must carry `Authorization: Bearer <a token this tenant issued>` (else 401) and a
 * client certificate whose CN is the device id. What deviates is recorded in `problems`.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { WebSocketServer } from "ws";

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

export interface Binary {
  fileName: string;
  contentType: string;
  content: Buffer;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export class C8yStandIn {
  readonly requests: Recorded[] = [];
  readonly problems: string[] = [];
  readonly events = new Map<string, { source: string; type: string; text: string; time: string }>();
  readonly binaries = new Map<string, Binary>();
  /** Files served at /inventory/binaries/{id}. */
  readonly inventoryBinaries = new Map<string, Buffer>();
  private readonly tokens = new Set<string>();
  private basic?: string;
  private readonly managedObjects = new Map<string, string>();
  private server?: Server;
  private readonly websockets = new WebSocketServer({ noServer: true });
  private nextId = 1000;
  port = 0;

  constructor(
    private readonly pki: { caCert: string; serverCert: string; serverKey: string },
    private readonly deviceId: string,
  ) {}

  /** A device known to the tenant (external id c8y_Serial) → its managed object id. */
  addDevice(xid: string): string {
    const id = String(this.nextId++);
    this.managedObjects.set(xid, id);
    return id;
  }

  removeDevice(xid: string): void {
    this.managedObjects.delete(xid);
  }

  /** What `71,<token>` carries: a JWT-shaped token this tenant accepts. */
  issueToken(expiresInS = 3600): string {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const token = `${b64({ alg: "none" })}.${b64({ exp: Math.floor(Date.now() / 1000) + expiresInS, sub: this.deviceId })}.${randomBytes(8).toString("hex")}`;
    this.tokens.add(token);
    return token;
  }

  /** Accepts `Authorization: Basic` with these credentials too (a basic-auth device). */
  acceptBasic(username: string, password: string): void {
    this.basic = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  }

  revokeTokens(): void {
    this.tokens.clear();
  }

  async start(): Promise<void> {
    this.server = createServer(
      {
        cert: readFileSync(this.pki.serverCert),
        key: readFileSync(this.pki.serverKey),
        ca: readFileSync(this.pki.caCert),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => this.handle(req, Buffer.concat(chunks), res));
      },
    );
    // WebSocket (RFC 6455, by the ws package) on /notification2/consumer/: echoes each message,
    // or with `?stall` reads nothing.
    this.server.on("upgrade", (req: IncomingMessage, socket: import("node:net").Socket, head: Buffer) => {
      const r: Recorded = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: head };
      this.requests.push(r);
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!bearer || !this.tokens.has(bearer)) {
        socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n");
        return;
      }
      const key = req.headers["sec-websocket-key"];
      if (
        req.headers.upgrade?.toLowerCase() !== "websocket" ||
        typeof key !== "string" ||
        !/^\/notification2\/consumer\//.test(r.path)
      ) {
        this.problem(r, "not a WebSocket handshake on /notification2/consumer/");
        socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        return;
      }
      this.websockets.handleUpgrade(req, socket, head, (ws) => {
        // a consumer that stops reading (`?stall`), to hold a relay to its limits
        if (/[?&]stall(&|$)/.test(r.path)) ws.pause();
        ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const ws of this.websockets.clients) ws.terminate();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private problem(r: Recorded, what: string): void {
    this.problems.push(`${r.method} ${r.path}: ${what}`);
  }

  private handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const r: Recorded = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body };
    this.requests.push(r);
    const send = (status: number, json?: unknown, type = "application/json") => {
      const text = json === undefined ? "" : typeof json === "string" ? json : JSON.stringify(json);
      res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    };
    const cn = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
    if (cn !== this.deviceId) this.problem(r, `client certificate CN ${cn}, want ${this.deviceId}`);
    const auth = req.headers.authorization ?? "";
    const bearer = /^Bearer (.+)$/.exec(auth)?.[1];
    if ((!bearer || !this.tokens.has(bearer)) && !(this.basic && auth === this.basic)) {
      send(401, { error: "security/Unauthorized", message: "Invalid credentials!" });
      return;
    }
    const [path = "", query] = r.path.split("?");
    void query;
    const identity = /^\/identity\/externalIds\/([^/]+)\/([^/]+)$/.exec(path);
    const binaries = /^\/event\/events\/(\d+)\/binaries$/.exec(path);
    const inventory = /^\/inventory\/binaries\/(\d+)$/.exec(path);
    if (r.method === "HEAD" && path === "/tenant/currentTenant") {
      send(200);
      return;
    }
    if (identity && r.method === "GET") {
      const [type, xid] = [decodeURIComponent(identity[1]!), decodeURIComponent(identity[2]!)];
      if (type !== "c8y_Serial") this.problem(r, `external id type ${type}`);
      const id = this.managedObjects.get(xid);
      if (!id) {
        send(404, {
          error: "identity/Not Found",
          message: `External id not found; external id = ID [type=${type}, value=${xid}]`,
        });
        return;
      }
      send(200, {
        externalId: xid,
        type,
        managedObject: { id, self: `https://t/inventory/managedObjects/${id}` },
      });
      return;
    }
    if (path === "/event/events" && r.method === "POST") {
      this.createEvent(r, send);
      return;
    }
    if (binaries) {
      const id = binaries[1]!;
      if (r.method === "POST") {
        this.attach(r, id, send);
        return;
      }
      if (r.method === "GET") {
        const b = this.binaries.get(id);
        if (!b) {
          send(404, { error: "binaries/Not Found" });
          return;
        }
        res.writeHead(200, { "Content-Type": b.contentType, "Content-Length": b.content.length });
        res.end(b.content);
        return;
      }
    }
    if (inventory && r.method === "GET") {
      const b = this.inventoryBinaries.get(inventory[1]!);
      if (!b) {
        send(404, { error: "inventory/Not Found" });
        return;
      }
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": b.length });
      res.end(b);
      return;
    }
    this.problem(r, "not a request ledge should make");
    send(404, { error: "undefined/Not Found" });
    return;
  }

  private createEvent(r: Recorded, send: (s: number, j?: unknown) => void): void {
    const ct = String(r.headers["content-type"] ?? "");
    if (!/^application\/(json|vnd\.com\.nsn\.cumulocity\.event\+json)/.test(ct))
      this.problem(r, `Content-Type ${ct}`);
    let e: { source?: { id?: unknown }; type?: unknown; text?: unknown; time?: unknown };
    try {
      e = JSON.parse(r.body.toString("utf8"));
    } catch {
      this.problem(r, "body is not JSON");
      send(422, { error: "undefined/validationError" });
      return;
    }
    const source = e.source?.id;
    if (typeof source !== "string" || ![...this.managedObjects.values()].includes(source))
      this.problem(r, `source.id ${JSON.stringify(source)} is not a managed object`);
    if (typeof e.type !== "string" || !e.type) this.problem(r, "type missing");
    if (typeof e.text !== "string") this.problem(r, "text missing");
    if (typeof e.time !== "string" || !ISO.test(e.time)) this.problem(r, `time ${JSON.stringify(e.time)}`);
    const id = String(this.nextId++);
    this.events.set(id, {
      source: String(source),
      type: String(e.type),
      text: String(e.text),
      time: String(e.time),
    });
    send(201, {
      id,
      self: `https://t/event/events/${id}`,
      source: { id: source },
      type: e.type,
      text: e.text,
      time: e.time,
    });
  }

  private attach(r: Recorded, id: string, send: (s: number, j?: unknown) => void): void {
    if (!this.events.has(id)) {
      send(404, { error: "event/Not Found" });
      return;
    }
    if (this.binaries.has(id)) {
      send(409, { error: "event/Conflict", message: "binary already exists" });
      return;
    }
    const ct = String(r.headers["content-type"] ?? "");
    const boundary = /^multipart\/form-data;\s*boundary=(.+)$/.exec(ct)?.[1];
    if (!boundary) {
      this.problem(r, `Content-Type ${ct}, want multipart/form-data`);
      send(415);
      return;
    }
    const parts = parseMultipart(r.body, boundary);
    if (!parts.ok) {
      this.problem(r, parts.error);
      send(400);
      return;
    }
    if (parts.value.length !== 1 || parts.value[0]!.name !== "file") {
      this.problem(r, `parts ${parts.value.map((p) => p.name).join(",")}, want one named file`);
      send(400);
      return;
    }
    const p = parts.value[0]!;
    if (!p.fileName) this.problem(r, "the file part has no filename");
    this.binaries.set(id, {
      fileName: p.fileName ?? "",
      contentType: p.contentType ?? "",
      content: p.content,
    });
    send(201, {
      id: `${id}-binary`,
      name: p.fileName,
      type: p.contentType,
      length: p.content.length,
      source: id,
      self: `https://t/event/events/${id}/binaries`,
    });
  }
}

interface Part {
  name?: string;
  fileName?: string;
  contentType?: string;
  content: Buffer;
}

/** RFC 7578 multipart/form-data, strictly: CRLF line ends, a closing delimiter. */
export function parseMultipart(
  body: Buffer,
  boundary: string,
): { ok: true; value: Part[] } | { ok: false; error: string } {
  const delim = Buffer.from(`--${boundary}`);
  if (body.indexOf(delim) !== 0) return { ok: false, error: "body does not start with the boundary" };
  const parts: Part[] = [];
  let at = delim.length;
  for (;;) {
    if (body.subarray(at, at + 2).toString() === "--") {
      if (body.subarray(at + 2).toString() !== "\r\n")
        return { ok: false, error: "bytes after the closing delimiter" };
      return { ok: true, value: parts };
    }
    if (body.subarray(at, at + 2).toString() !== "\r\n")
      return { ok: false, error: "no CRLF after a delimiter" };
    const headEnd = body.indexOf("\r\n\r\n", at + 2);
    if (headEnd < 0) return { ok: false, error: "part headers never end" };
    const headers = body
      .subarray(at + 2, headEnd)
      .toString("utf8")
      .split("\r\n");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delim]), headEnd + 4);
    if (next < 0) return { ok: false, error: "no closing delimiter" };
    const part: Part = { content: body.subarray(headEnd + 4, next) };
    for (const h of headers) {
      const [k = "", ...v] = h.split(":");
      const value = v.join(":").trim();
      if (k.toLowerCase() === "content-disposition") {
        if (!value.startsWith("form-data")) return { ok: false, error: `Content-Disposition ${value}` };
        part.name = /\bname="([^"]*)"/.exec(value)?.[1];
        part.fileName = /\bfilename="([^"]*)"/.exec(value)?.[1];
      } else if (k.toLowerCase() === "content-type") part.contentType = value;
    }
    parts.push(part);
    at = next + 2 + delim.length;
  }
}
