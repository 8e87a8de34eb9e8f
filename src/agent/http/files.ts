import { constants } from "node:fs";
import { type FileHandle, lstat, mkdir, open, rename, rm, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type HttpReply, type HttpRequest, jsonError } from "../../foundation/http/exchange.ts";
import type { Logger } from "../../foundation/logger.ts";
import { insideRoot, safeFilePath } from "./safe-path.ts";

export interface FilesOptions {
  root: string;
  maxBytes: number;
  log: Logger;
}

/** `PUT|GET|HEAD|DELETE /te/v1/files/<path>` under the file transfer root. */
export async function handleFiles(req: HttpRequest, raw: string, opts: FilesOptions): Promise<HttpReply> {
  const p = safeFilePath(raw, opts.root);
  if (!p.ok) return jsonError(400, p.error);
  // The text of the path stays inside the root; a symlinked directory on the way could still lead out.
  const real = await insideRoot(p.path, opts.root);
  if (!real.ok) return jsonError(403, real.error);
  switch (req.method) {
    case "PUT":
      return put(req, p.path, opts);
    case "GET":
    case "HEAD":
      return get(req.method, p.path);
    case "DELETE":
      try {
        // unlink removes a symlink itself, never its target; directories are not files
        if ((await lstat(p.path)).isDirectory()) return jsonError(409, "not a file");
        await unlink(p.path);
        return { status: 202 };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return jsonError(404, "no such file");
        if (code === "EISDIR" || code === "EPERM") return jsonError(409, "not a file");
        throw e;
      }
    default:
      return {
        ...jsonError(405, `method ${req.method} not allowed on files`),
        headers: { "content-type": "application/json", allow: "GET, HEAD, PUT, DELETE" },
      };
  }
}

const tooLarge = (opts: FilesOptions): HttpReply => ({
  ...jsonError(413, `file larger than the limit of ${opts.maxBytes} bytes`),
  close: true,
});

async function put(req: HttpRequest, path: string, opts: FilesOptions): Promise<HttpReply> {
  if (Number(req.header("content-length") ?? Number.NaN) > opts.maxBytes) return tooLarge(opts);
  try {
    // config snapshots and logs pass through here: not for other users (mode applies to new dirs only)
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  } catch {
    return jsonError(409, "a parent of this path is a file");
  }
  // mkdir may have raced a symlink into place: check again now that the directories exist
  const real = await insideRoot(path, opts.root);
  if (!real.ok) return jsonError(403, real.error);
  const tmp = join(
    dirname(path),
    `.${basename(path)}.part-${process.pid}-${Math.random().toString(36).slice(2)}`,
  );
  // O_EXCL creates a new file (a planted link is refused); the rename then replaces the name
  // itself, so a symlink or a hard link at `path` is swapped out, its target never written
  const fh = await open(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o640,
  );
  let bytes = 0;
  try {
    for await (const chunk of req.body) {
      bytes += chunk.length;
      if (bytes > opts.maxBytes) throw new TooLarge();
      await fh.write(chunk);
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    if (e instanceof TooLarge) return tooLarge(opts);
    if ((e as NodeJS.ErrnoException).code === "EISDIR")
      return jsonError(409, "a directory exists at this path");
    // client went away or ran out of time: nothing kept, and nobody to answer
    if (req.signal.aborted || (e as NodeJS.ErrnoException).code === "ECONNRESET")
      return { status: 400, close: true };
    throw e;
  }
  opts.log.debug("file stored", { path, bytes });
  return { status: 201 };
}

class TooLarge extends Error {}

async function get(method: string, path: string): Promise<HttpReply> {
  // O_NOFOLLOW: a symlink as the last component fails (ELOOP) instead of being read through
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (e: NodeJS.ErrnoException) => e,
  );
  if (fh instanceof Error) {
    if (fh.code === "ELOOP") return jsonError(403, "the path is a symbolic link");
    return jsonError(404, "no such file");
  }
  const s = await fh.stat();
  let refused: HttpReply | undefined;
  if (!s.isFile()) refused = jsonError(404, "no such file");
  // a second name for the file: a hard link planted to read a file from outside the root
  else if (s.nlink > 1) refused = jsonError(403, "the file has more than one link");
  if (refused || method === "HEAD") {
    await fh.close();
    return (
      refused ?? {
        status: 200,
        headers: { "content-type": "application/octet-stream", "content-length": String(s.size) },
      }
    );
  }
  return {
    status: 200,
    headers: { "content-type": "application/octet-stream" },
    body: readChunks(fh),
    length: s.size,
  };
}

/** The file's bytes; the file is closed at the end or when the client goes away (`return()`). */
async function* readChunks(fh: FileHandle): AsyncGenerator<Uint8Array> {
  try {
    for (;;) {
      const { bytesRead, buffer } = await fh.read({ buffer: Buffer.allocUnsafe(64 * 1024) });
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
