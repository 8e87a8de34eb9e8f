import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { dirname } from "node:path";
import { lazy } from "../foundation/builtin.ts";

/**
 * Moves files between the agent and a URL: the file transfer service (`tedgeUrl`), any http(s)
 * URL, or a local path / file: URL. Downloads stream to a temp file and are renamed into place,
 * so a failed transfer leaves nothing behind; the sha256 is computed on the way.
 */
export async function download(
  source: string,
  dest: string,
  signal?: AbortSignal,
  mode = 0o644,
): Promise<{ bytes: number; sha256: string }> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}`;
  const hash = lazy.crypto().createHash("sha256");
  let bytes = 0;
  // a new file, so `mode` applies even over a partial download a crash left behind
  await rm(tmp, { force: true });
  const fh = await open(tmp, "wx", mode);
  try {
    for await (const chunk of await chunks(source, signal)) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      await fh.write(chunk);
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, dest);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  return { bytes, sha256: hash.digest("hex") };
}

async function chunks(source: string, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
  if (/^https?:\/\//i.test(source)) {
    const res = await fetch(source, { signal });
    if (!res.ok || !res.body) throw new Error(`GET ${source}: HTTP ${res.status}`);
    return res.body as unknown as AsyncIterable<Uint8Array>;
  }
  const path = source.startsWith("file:") ? lazy.url().fileURLToPath(source) : source;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) throw new Error(`unsupported URL scheme in ${source}`);
  return createReadStream(path, { signal });
}

/**
 * PUTs a body produced piece by piece (chunked, or with `length` when known) through node:http,
 * whose pipeline waits for the socket to drain: fetch in Node 20 reads a streamed body ahead
 * without bound, which would hold a whole log in memory.
 */
export async function uploadStream(
  url: string,
  body: AsyncIterable<Uint8Array | string>,
  signal?: AbortSignal,
  length?: number,
): Promise<void> {
  if (!/^https?:\/\//i.test(url)) throw new Error(`cannot upload to '${url}': not an http(s) URL`);
  const headers: Record<string, string | number> = { "content-type": "application/octet-stream" };
  if (length !== undefined) headers["content-length"] = length;
  const send = url.toLowerCase().startsWith("https:") ? lazy.https().request : lazy.http().request;
  const req = send(url, { method: "PUT", headers, signal });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
  await Promise.all([
    lazy.streamPromises().pipeline(lazy.stream().Readable.from(body, { objectMode: false }), req),
    response,
  ]);
  const res = await response;
  res.resume();
  if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299)
    throw new Error(`PUT ${url}: HTTP ${res.statusCode}`);
}

/** Streams a file to an http(s) URL. */
export async function uploadFile(url: string, path: string, signal?: AbortSignal): Promise<void> {
  const { size } = await stat(path);
  await uploadStream(url, createReadStream(path, { signal }), signal, size);
}
