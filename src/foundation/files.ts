/** Files ledge keeps its state in: whole-file atomic replacement, and tolerant reads. */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Writes a whole file or nothing: a crash leaves the old file or the new one, never half of one.
 * With `sync` (the default) the data and the rename reach the disk before this returns.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, sync = true): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  // a temp file left by a crash (same pid after a restart, e.g. PID 1 in a container) would keep
  // its own mode: start from a new file so `mode` (0600 for keys) applies
  rmSync(tmp, { force: true });
  writeFileSync(tmp, data, { mode, flag: "wx" });
  if (sync) {
    const fd = openSync(tmp, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  renameSync(tmp, path);
  if (sync) syncDir(dirname(path));
}

export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A JSON list ledge persisted: a missing file is an empty list; an unreadable or corrupt one is
 * reported and ignored (state is rebuilt), never fatal. Items failing `keep` are dropped.
 */
export function readJsonList<T>(
  file: string,
  what: string,
  keep: (item: Partial<T> | null) => boolean,
): { items: T[]; error?: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { items: [] };
    return { items: [], error: `cannot read ${file}: ${(e as Error).message}` };
  }
  try {
    const list = JSON.parse(text) as Partial<T>[];
    if (!Array.isArray(list)) throw new Error("not a list");
    return { items: list.filter(keep) as T[] };
  } catch (e) {
    return { items: [], error: `ignoring corrupt ${what} ${file}: ${(e as Error).message}` };
  }
}

/**
 * Removes `<path><infix><pid>` temp files whose process is gone (killed between writing and
 * renaming); a live pid's file belongs to a write in progress and stays.
 */
export function removeStaleTemps(path: string, infix: string): void {
  const prefix = `${basename(path)}${infix}`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) continue;
    rmSync(join(dirname(path), name), { force: true });
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
