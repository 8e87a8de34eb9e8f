import { realpath } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";

const MAX_SEGMENT_BYTES = 200;

export type PathCheck = { ok: true; path: string; rel: string } | { ok: false; error: string };

/**
 * Maps the raw (still percent-encoded) part of a URL after `/te/v1/files/` to a file under
 * `root`. Refuses, rather than normalises, anything that could leave the root: `.`/`..`
 * segments (also encoded), empty segments (`//`, a leading `/`: absolute paths), encoded `/` or
 * `\`, backslashes and NUL.
 */
export function safeFilePath(raw: string, root: string): PathCheck {
  if (raw === "") return { ok: false, error: "no file path after /te/v1/files/" };
  if (raw.includes("\\")) return { ok: false, error: "backslashes are not allowed in file paths" };
  const segments: string[] = [];
  for (const enc of raw.split("/")) {
    let seg: string;
    try {
      seg = decodeURIComponent(enc);
    } catch {
      return { ok: false, error: `bad percent-encoding in '${enc}'` };
    }
    if (seg === "") return { ok: false, error: "empty path segment (absolute path or '//')" };
    if (seg === "." || seg === "..")
      return { ok: false, error: "'.' and '..' are not allowed in file paths" };
    if (/[/\\\0]/.test(seg)) return { ok: false, error: "encoded '/', '\\' or NUL in a path segment" };
    // NAME_MAX is 255 bytes, and an upload's temp file adds its suffix to the name
    if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES)
      return { ok: false, error: `a path segment longer than ${MAX_SEGMENT_BYTES} bytes` };
    segments.push(seg);
  }
  const base = resolve(root);
  const path = resolve(base, ...segments);
  if (!path.startsWith(base + sep)) return { ok: false, error: "path leaves the file transfer root" };
  return { ok: true, path, rel: segments.join("/") };
}

/**
 * Whether `path` (already textually under `root`) really is: the deepest existing ancestor of it,
 * with every symlink resolved, must be the root or under it. The last component is not resolved:
 * callers open it with O_NOFOLLOW (GET), replace the name (PUT) or unlink the name (DELETE).
 */
export async function insideRoot(
  path: string,
  root: string,
): Promise<{ ok: true } | { ok: false; error: string }> {
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return { ok: true }; // no root yet: nothing under it can be a link
  }
  let dir = dirname(path);
  for (;;) {
    try {
      const real = await realpath(dir);
      return real === realRoot || real.startsWith(realRoot + sep)
        ? { ok: true }
        : { ok: false, error: "path leaves the file transfer root through a symbolic link" };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || dir === dirname(dir))
        return { ok: false, error: `cannot resolve the path: ${(e as NodeJS.ErrnoException).code}` };
      dir = dirname(dir);
    }
  }
}
