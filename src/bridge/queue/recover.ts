import { readdirSync, truncateSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../foundation/logger.ts";
import { convertLegacySegments } from "./legacy.ts";
import { listSegmentBases, type Segment, scanSegment, segmentPath } from "./segment.ts";
import { COMPACT_SUFFIX } from "./segment-rewrite.ts";

export interface Recovered {
  /** Segments holding records at or after the commit, oldest first (may be empty). */
  segments: Segment[];
  /** The seq the next append gets. */
  nextSeq: number;
  /** Valid records from the commit on. */
  depth: number;
  /** Bytes of the kept segments, from the first one's start. */
  bytes: number;
  /** Byte position of the oldest undelivered record in the first segment. */
  headPos: number;
}

/**
 * Start-up recovery of a queue directory whose commit says `next` is the oldest undelivered seq:
 * carries over the previous format, removes what an interrupted compaction left, scans every
 * segment (length and CRC of each record) and deletes the ones wholly delivered. Damage at the
 * very end of the last segment that is a short record is a torn append (cut off: never
 * acknowledged); any other damage becomes a hole whose records are counted when delivery passes
 * it, and every valid record after it is kept.
 */
export function recoverSegments(dir: string, next: number, now: number, log?: Logger): Recovered {
  const carried = convertLegacySegments(dir, next, now);
  if (carried) log?.info("queue: carried over records of the previous queue format", { records: carried });
  // A compaction that did not reach its rename: the segment it was made from is intact.
  for (const f of readdirSync(dir)) if (f.endsWith(COMPACT_SUFFIX)) unlinkSync(join(dir, f));
  const r: Recovered = { segments: [], nextSeq: next, depth: 0, bytes: 0, headPos: 0 };
  const bases = listSegmentBases(dir);
  for (const [i, base] of bases.entries()) {
    const path = segmentPath(dir, base);
    const prev = r.segments.at(-1);
    if (prev && base < prev.end) {
      // Left by a compaction that died after its rename: its records are in the segment before.
      unlinkSync(path);
      continue;
    }
    const scan = scanSegment(path, base, next);
    const last = i === bases.length - 1;
    let end = scan.end;
    let size = scan.validBytes;
    const { tail } = scan;
    if (tail && last && tail.reason === "short") {
      // A crash in the middle of an append: that record was never stored, so never acknowledged.
      truncateSync(path, scan.validBytes);
      log?.warn("queue: cut a torn record off the end of the queue", { path, bytes: tail.bytes });
    } else if (tail) {
      // Damage up to the end of the file: the next segment's base says how many records it held.
      end = last ? scan.end + 1 : Math.max(scan.end, bases[i + 1]!);
      scan.holes.push({ pos: tail.pos, end: tail.pos + tail.bytes, seqFrom: scan.end, seqTo: end });
      size = tail.pos + tail.bytes;
    }
    for (const h of scan.holes)
      log?.error("queue: corrupt data found; skipped, the records after it are kept", {
        path,
        at: h.pos,
        bytes: h.end - h.pos,
        records: h.seqTo - h.seqFrom,
      });
    r.nextSeq = Math.max(r.nextSeq, end);
    if (end <= next) {
      unlinkSync(path);
      continue;
    }
    // A hole in records already delivered only counts from the commit on.
    for (const h of scan.holes) h.seqFrom = Math.min(h.seqTo, Math.max(h.seqFrom, next));
    const firstKept = !r.segments.length;
    if (firstKept && next > base) r.headPos = scan.posOf;
    const holes = firstKept ? scan.holes.filter((h) => h.end > r.headPos) : scan.holes;
    r.segments.push({ base, path, size, end, holes });
    r.depth += scan.count;
    r.bytes += size;
  }
  return r;
}
