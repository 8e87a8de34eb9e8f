import { closeSync, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import { type BadReason, decodeRecord, nextValid } from "./record.ts";

/**
 * A damaged stretch of a segment: bytes [pos, end) held the records seqFrom..seqTo-1 (none of
 * them readable). Skipped by the reader, counted as `corrupt` when the head passes it.
 */
export interface Hole {
  pos: number;
  end: number;
  seqFrom: number;
  seqTo: number;
}

/** A segment file holds records from seq `base` on, back to back; its name is its base seq. */
export interface Segment {
  base: number;
  path: string;
  /** Bytes in the file that belong to the queue (valid records and holes). */
  size: number;
  /** Seq after its last record. */
  end: number;
  holes: Hole[];
  /** Read descriptor, opened on first read. */
  fd?: number;
}

/** A place in the queue: a byte position in a segment and the seq of the record there. */
export interface Pos {
  seg: Segment;
  pos: number;
  seq: number;
}

const SUFFIX = ".lq";

export const segmentPath = (dir: string, base: number) =>
  join(dir, `${String(base).padStart(16, "0")}${SUFFIX}`);

export function listSegmentBases(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX) && /^\d+$/.test(f.slice(0, -SUFFIX.length)))
    .map((f) => Number(f.slice(0, -SUFFIX.length)))
    .sort((a, b) => a - b);
}

/**
 * One scratch buffer for every scan: recovery reads each segment whole, and a fresh buffer per
 * segment would make memory follow the size of the backlog until the collector catches up.
 */
let scratch = Buffer.alloc(0);

function readWhole(path: string): Buffer {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (scratch.byteLength < size) scratch = Buffer.allocUnsafe(Math.max(size, 64 << 10));
    let got = 0;
    while (got < size) {
      const n = readSync(fd, scratch, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return scratch.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export interface ScanResult {
  /** Valid records at or after `want`. */
  count: number;
  /** Seq after the last valid record (base when none). */
  end: number;
  /** Bytes up to the end of the last valid record or hole. */
  validBytes: number;
  holes: Hole[];
  /** Damage running to the end of the file with nothing valid after it. */
  tail?: { pos: number; reason: BadReason; bytes: number };
  /** Byte position of the first record with seq >= `want`, or of the end. */
  posOf: number;
}

/**
 * Walks a segment's records, checking every length and CRC. A damaged stretch followed by a valid
 * record becomes a hole (the seq gap says how many records it held); damage reaching the end of
 * the file is reported as `tail` for the caller to judge (torn write or corruption).
 */
export function scanSegment(path: string, base: number, want: number): ScanResult {
  const buf = readWhole(path);
  const holes: Hole[] = [];
  let pos = 0;
  let seq = base;
  let count = 0;
  let posOf: number | undefined;
  while (pos < buf.byteLength) {
    const d = decodeRecord(buf, pos);
    if (!d.ok) {
      const next = nextValid(buf, pos + 1);
      if (!next) {
        posOf ??= pos;
        return {
          count,
          end: seq,
          validBytes: pos,
          holes,
          tail: { pos, reason: d.reason, bytes: buf.byteLength - pos },
          posOf,
        };
      }
      holes.push({ pos, end: next.pos, seqFrom: seq, seqTo: Math.max(seq, next.seq) });
      if (posOf === undefined && next.seq > want) posOf = pos;
      pos = next.pos;
      seq = Math.max(seq, next.seq);
      continue;
    }
    if (posOf === undefined && d.seq >= want) posOf = pos;
    if (d.seq >= want) count++;
    seq = d.seq + 1;
    pos += d.size;
  }
  return { count, end: seq, validBytes: pos, holes, posOf: posOf ?? pos };
}
