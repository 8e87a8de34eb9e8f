import { resolve, sep } from "node:path";

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
    segments.push(seg);
  }
  const base = resolve(root);
  const path = resolve(base, ...segments);
  if (!path.startsWith(base + sep)) return { ok: false, error: "path leaves the file transfer root" };
  return { ok: true, path, rel: segments.join("/") };
}
