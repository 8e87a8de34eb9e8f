/**
 * The upload thin-edge's mapper does when a `log_upload` or `config_snapshot` succeeds
 * (`c8y_mapper_ext/src/operations/upload.rs`): fetch the file from the file transfer service to a
 * temporary file, find the device's managed object, create an event (type and text: the log or
 * config type), attach the file to it as a `multipart/form-data` binary (one part, `file`, named
 * `<xid>_<file>`), and report `https://<tenant>/event/events/<id>/binaries`. The file is streamed
 * at every step; a log is then deleted from the file transfer service.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { extname, join } from "node:path";
import { lazy } from "../../../foundation/builtin.ts";
import { HttpError, readText, type TenantHttp } from "./client.ts";

export interface UploadJob {
  op: "log_upload" | "config_snapshot";
  /** The device's external id (`c8y_Serial`). */
  xid: string;
  /** Log or config type. */
  type: string;
  /** The file on the file transfer service. */
  tedgeUrl: string;
  /** ISO time of the event. */
  time: string;
}

const TYPES: Readonly<Record<string, string>> = {
  ".json": "application/json",
  ".xml": "application/xml",
  ".yaml": "application/yaml",
  ".yml": "application/yaml",
  ".toml": "application/toml",
  ".txt": "text/plain",
  ".log": "text/plain",
  ".csv": "text/csv",
};

/** thin-edge: logs are `text/plain`; a config's type is guessed from its extension. */
export function partContentType(op: UploadJob["op"], fileName: string): string {
  if (op === "log_upload") return "text/plain";
  return TYPES[extname(fileName.replace(/-c8y-mapper-.*$/, "")).toLowerCase()] ?? "application/octet-stream";
}

/** One multipart/form-data part around a streamed file: what goes before it, and after. */
export function multipartFrame(boundary: string, fileName: string, contentType: string) {
  const name = fileName.replace(/["\r\n]/g, "_");
  return {
    head: Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${contentType}\r\n\r\n`,
    ),
    tail: Buffer.from(`\r\n--${boundary}--\r\n`),
  };
}

/** `n` random bytes in hex, from Web Crypto (a global: no node:crypto to load). */
function randomHex(n: number): string {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(n))).toString("hex");
}

/** Streams an http:// URL (the file transfer service) into `path`. */
async function fetchTo(url: string, path: string): Promise<void> {
  const res = await new Promise<IncomingMessage>((resolve, reject) =>
    lazy.http().request(url, resolve).on("error", reject).end(),
  );
  if (res.statusCode !== 200) {
    const text = await readText(res);
    throw new Error(`GET ${url} returned HTTP ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ""}`);
  }
  await lazy.streamPromises().pipeline(res, createWriteStream(path));
}

async function deleteUrl(url: string): Promise<void> {
  await new Promise<void>((resolve) =>
    lazy
      .http()
      .request(url, { method: "DELETE" }, (res) => {
        res.resume();
        resolve();
      })
      .on("error", () => resolve())
      .end(),
  );
}

/** Runs one upload; resolves with the binary's tenant URL (the 506 parameter). */
export async function uploadToEvent(http: TenantHttp, job: UploadJob, tmpDir: string): Promise<string> {
  await mkdir(tmpDir, { recursive: true });
  const fileName = decodeURIComponent(new URL(job.tedgeUrl).pathname.split("/").pop() || job.type);
  const local = join(tmpDir, `${randomHex(6)}-${fileName}`);
  try {
    await fetchTo(job.tedgeUrl, local);
    const mo = await http.json<{ managedObject?: { id?: unknown } }>(
      "GET",
      `/identity/externalIds/c8y_Serial/${encodeURIComponent(job.xid)}`,
    );
    const source = mo.managedObject?.id;
    if (typeof source !== "string" && typeof source !== "number")
      throw new Error(`Cumulocity has no managed object for '${job.xid}'`);
    const event = await http.json<{ id?: unknown }>("POST", "/event/events", {
      source: { id: String(source) },
      type: job.type,
      time: job.time,
      text: job.type,
    });
    if (typeof event.id !== "string" && typeof event.id !== "number")
      throw new Error("Cumulocity created the event without an id");
    const path = `/event/events/${event.id}/binaries`;
    const boundary = `ledge-${randomHex(12)}`;
    const { head, tail } = multipartFrame(
      boundary,
      `${job.xid}_${fileName}`,
      partContentType(job.op, fileName),
    );
    const size = (await stat(local)).size;
    const res = await http.request({
      method: "POST",
      path,
      headers: {
        Accept: "application/json",
        "Content-Type": `multipart/form-data; boundary=${boundary}`,
        "Content-Length": head.length + size + tail.length,
      },
      body: () =>
        lazy.stream().Readable.from(
          (async function* () {
            yield head;
            yield* createReadStream(local);
            yield tail;
          })(),
        ),
    });
    const answer = await readText(res);
    if (!res.statusCode || res.statusCode >= 300)
      throw new HttpError(res.statusCode ?? 0, "POST", path, answer);
    return `${http.base}${path}`;
  } finally {
    await rm(local, { force: true });
    if (job.op === "log_upload") await deleteUrl(job.tedgeUrl);
  }
}
