import { constants } from "node:fs";
import { lstat, mkdir, open, rename, rm, unlink } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { basename, dirname, join } from "node:path";
import { lazyBuiltin } from "../../foundation/builtin.ts";
import type { Logger } from "../../foundation/logger.ts";
import { sendJsonError } from "./respond.ts";
import { insideRoot, safeFilePath } from "./safe-path.ts";

const streamPromises = lazyBuiltin<typeof import("node:stream/promises")>("node:stream/promises");

export interface FilesOptions {
  root: string;
  maxBytes: number;
  log: Logger;
}

/** `PUT|GET|DELETE /te/v1/files/<path>` under the file transfer root. */
export async function handleFiles(
  req: IncomingMessage,
  res: ServerResponse,
  raw: string,
  opts: FilesOptions,
): Promise<void> {
  const p = safeFilePath(raw, opts.root);
  if (!p.ok) {
    req.resume();
    return sendJsonError(res, 400, p.error);
  }
  // The text of the path stays inside the root; a symlinked directory on the way could still lead out.
  const real = await insideRoot(p.path, opts.root);
  if (!real.ok) {
    req.resume();
    return sendJsonError(res, 403, real.error);
  }
  switch (req.method) {
    case "PUT":
      return put(req, res, p.path, opts);
    case "GET":
    case "HEAD":
      return get(req, res, p.path);
    case "DELETE": {
      req.resume();
      try {
        // unlink removes a symlink itself, never its target; directories are not files
        if ((await lstat(p.path)).isDirectory()) return sendJsonError(res, 409, "not a file");
        await unlink(p.path);
        res.writeHead(202).end();
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return sendJsonError(res, 404, "no such file");
        if (code === "EISDIR" || code === "EPERM") return sendJsonError(res, 409, "not a file");
        throw e;
      }
      return;
    }
    default:
      req.resume();
      res.setHeader("allow", "GET, HEAD, PUT, DELETE");
      return sendJsonError(res, 405, `method ${req.method} not allowed on files`);
  }
}

async function put(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  opts: FilesOptions,
): Promise<void> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > opts.maxBytes) {
    res.setHeader("connection", "close");
    req.resume();
    return sendJsonError(res, 413, `file larger than the limit of ${opts.maxBytes} bytes`);
  }
  try {
    // config snapshots and logs pass through here: not for other users (mode applies to new dirs only)
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  } catch {
    req.resume();
    return sendJsonError(res, 409, "a parent of this path is a file");
  }
  // mkdir may have raced a symlink into place: check again now that the directories exist
  const real = await insideRoot(path, opts.root);
  if (!real.ok) {
    req.resume();
    return sendJsonError(res, 403, real.error);
  }
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
    for await (const chunk of req as AsyncIterable<Buffer>) {
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
    if (e instanceof TooLarge) {
      res.setHeader("connection", "close");
      return sendJsonError(res, 413, `file larger than the limit of ${opts.maxBytes} bytes`);
    }
    if ((e as NodeJS.ErrnoException).code === "EISDIR")
      return sendJsonError(res, 409, "a directory exists at this path");
    if (req.destroyed || (e as NodeJS.ErrnoException).code === "ECONNRESET") return; // client went away: nothing kept
    throw e;
  }
  opts.log.debug("file stored", { path, bytes });
  res.writeHead(201).end();
}

class TooLarge extends Error {}

async function get(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  req.resume();
  // O_NOFOLLOW: a symlink as the last component fails (ELOOP) instead of being read through
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (e: NodeJS.ErrnoException) => e,
  );
  if (fh instanceof Error) {
    if (fh.code === "ELOOP") return sendJsonError(res, 403, "the path is a symbolic link");
    return sendJsonError(res, 404, "no such file");
  }
  const s = await fh.stat();
  if (!s.isFile()) {
    await fh.close();
    return sendJsonError(res, 404, "no such file");
  }
  // a second name for the file: a hard link planted to read a file from outside the root
  if (s.nlink > 1) {
    await fh.close();
    return sendJsonError(res, 403, "the file has more than one link");
  }
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": s.size });
  if (req.method === "HEAD") {
    await fh.close();
    return void res.end();
  }
  // pipeline, not pipe: a client that goes away must close the file too
  await streamPromises()
    .pipeline(fh.createReadStream(), res)
    .catch(() => {});
}
