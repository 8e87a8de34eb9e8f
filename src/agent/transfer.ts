import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

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
  const hash = createHash("sha256");
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
  const path = source.startsWith("file:") ? fileURLToPath(source) : source;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) throw new Error(`unsupported URL scheme in ${source}`);
  return createReadStream(path, { signal });
}

/** PUTs a body to an http(s) URL (the file transfer service), failing on a non-2xx status. */
export async function upload(url: string, body: Uint8Array | string, signal?: AbortSignal): Promise<void> {
  if (!/^https?:\/\//i.test(url)) throw new Error(`cannot upload to '${url}': not an http(s) URL`);
  const res = await fetch(url, {
    method: "PUT",
    body,
    signal,
    headers: { "content-type": "application/octet-stream" },
  });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`PUT ${url}: HTTP ${res.status}`);
}

export async function uploadFile(url: string, path: string, signal?: AbortSignal): Promise<void> {
  await upload(url, await readFile(path), signal);
}
