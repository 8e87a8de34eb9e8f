import { closeSync, fdatasyncSync, openSync, readFileSync, renameSync, rmSync, writevSync } from "node:fs";
import { decodeRecord, encodeHead } from "./record.ts";
import type { Segment } from "./segment.ts";
import { type Foldable, type FoldResult, type QueuedMessage, recordSize } from "./types.ts";

export const COMPACT_SUFFIX = ".compact";

/** The records of a segment file from byte `from`, or undefined when one does not decode. */
function readRecords(s: Segment, from = 0): { buf: Buffer; recs: Foldable[] } | undefined {
  const buf = readFileSync(s.path);
  const recs: Foldable[] = [];
  let pos = from;
  for (let d = decodeRecord(buf, pos); pos < s.size && d.ok; d = decodeRecord(buf, pos)) {
    recs.push({ seq: d.seq, time: d.time, msg: d.msg });
    pos += d.size;
  }
  return pos === s.size ? { buf, recs } : undefined;
}

/**
 * Writes `prefix` (bytes kept as they are) and `records` to `<path>.compact` and renames it over
 * `path`, so a crash leaves the old file or the new one. Returns the new size, or undefined when
 * the write failed (the old file is left as it was, no temp file behind).
 */
function rewrite(path: string, prefix: Uint8Array, records: Foldable[], sync: boolean): number | undefined {
  const tmp = `${path}${COMPACT_SUFFIX}`;
  let size = prefix.byteLength;
  try {
    const fd = openSync(tmp, "w");
    try {
      if (prefix.byteLength) writevSync(fd, [prefix]);
      for (const o of records) {
        const head = encodeHead(o.msg, o.seq, o.time);
        writevSync(fd, [head, o.msg.payload]);
        size += head.byteLength + o.msg.payload.byteLength;
      }
      if (sync) fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
    return undefined;
  }
  return size;
}

/**
 * Rewrites a run of segments as one file with `fold` applied: written next to the first segment,
 * renamed over it, then the others deleted, so a crash leaves the old records or the new ones (a
 * leftover is recognised on start by its base lying inside the segment before it). Seqs are kept.
 * Returns the new size and how many records were folded away, or undefined when nothing changed
 * (a damaged record, nothing to fold, a failed write: the run is left as it was).
 */
export function compactRun(
  run: Segment[],
  fold: (records: Foldable[]) => FoldResult,
  sync: boolean,
): { size: number; folded: number } | undefined {
  const recs: Foldable[] = [];
  for (const s of run) {
    const r = readRecords(s);
    if (!r) return undefined;
    recs.push(...r.recs);
  }
  const r = fold(recs);
  if (r.folded <= 0) return undefined;
  const size = rewrite(run[0]!.path, new Uint8Array(0), r.out, sync);
  if (size === undefined) return undefined;
  for (const s of run.slice(1)) rmSync(s.path, { force: true });
  return { size, folded: r.folded };
}

/**
 * Rewrites one segment without its oldest records from byte `from` on for which `expendable`
 * holds, as many as free `target` bytes (the bytes before `from`, records already handed out, are
 * kept as they are). Seqs are kept. Returns the new size, the number dropped (0: nothing to drop,
 * the file is untouched) and whether any expendable record is left after `from`; undefined when a
 * record does not decode or the write failed.
 */
export function thinSegment(
  seg: Segment,
  from: number,
  expendable: (msg: QueuedMessage) => boolean,
  target: number,
  sync: boolean,
): { size: number; dropped: number; more: boolean } | undefined {
  const read = readRecords(seg, from);
  if (!read) return undefined;
  const kept: Foldable[] = [];
  let freed = 0;
  let more = false;
  for (const r of read.recs) {
    if (!expendable(r.msg)) kept.push(r);
    else if (freed < target) freed += recordSize(r.msg.topic, r.msg.payload);
    else {
      kept.push(r);
      more = true;
    }
  }
  const dropped = read.recs.length - kept.length;
  if (!dropped) return { size: seg.size, dropped, more };
  const size = rewrite(seg.path, read.buf.subarray(0, from), kept, sync);
  return size === undefined ? undefined : { size, dropped, more };
}
