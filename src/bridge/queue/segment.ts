import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../foundation/files.ts";
import { decodeRecord } from "./record.ts";

/** A segment file holds records `base, base+1, ...` back to back; its name is its base seq. */
export interface Segment {
  base: number;
  path: string;
  /** Bytes of valid records (a corrupt tail beyond it is ignored). */
  size: number;
  count: number;
  /** Read descriptor, opened on first read. */
  fd?: number;
}

const SUFFIX = ".seg";

export const segmentPath = (dir: string, base: number) =>
  join(dir, `${String(base).padStart(16, "0")}${SUFFIX}`);

export function listSegmentBases(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX) && /^\d+$/.test(f.slice(0, -SUFFIX.length)))
    .map((f) => Number(f.slice(0, -SUFFIX.length)))
    .sort((a, b) => a - b);
}

export interface ScanResult {
  count: number;
  /** Bytes of the valid prefix. */
  validBytes: number;
  /** Why the scan stopped before the end of the file, if it did. */
  bad?: "short" | "crc" | "format";
  /** Byte position of record number `want` (0-based), when it exists. */
  posOf?: number;
}

/** Walks a segment's records, checking every length and CRC, and stops at the first bad one. */
export function scanSegment(path: string, want = 0): ScanResult {
  const buf = readFileSync(path);
  let pos = 0;
  let count = 0;
  let posOf: number | undefined;
  while (pos < buf.byteLength) {
    const d = decodeRecord(buf, pos);
    if (!d.ok) return { count, validBytes: pos, bad: d.reason, posOf };
    if (count === want) posOf = pos;
    pos += d.size;
    count++;
  }
  if (count === want) posOf = pos;
  return { count, validBytes: pos, posOf };
}

export interface CommitState {
  /** Seq of the oldest record not yet delivered nor dropped. */
  next: number;
  /** Records dropped over the queue's lifetime. */
  drops: number;
}

const COMMIT_FILE = "commit.json";

/** A missing or unreadable commit file means "nothing delivered yet": resending is safe, skipping is not. */
export function readCommit(dir: string): CommitState {
  try {
    const v = JSON.parse(readFileSync(join(dir, COMMIT_FILE), "utf8")) as Partial<CommitState>;
    const ok = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
    return { next: ok(v.next) ? v.next : 0, drops: ok(v.drops) ? v.drops : 0 };
  } catch {
    return { next: 0, drops: 0 };
  }
}

/** Temp file + rename: a crash leaves the old state or the new one, never a mix. */
export function writeCommit(dir: string, state: CommitState, sync: boolean): void {
  writeFileAtomic(join(dir, COMMIT_FILE), JSON.stringify(state), 0o644, sync);
}
