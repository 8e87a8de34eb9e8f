import { closeSync, fdatasyncSync, openSync, readFileSync, renameSync, rmSync, writevSync } from "node:fs";
import { decodeRecord, encodeHead } from "./record.ts";
import type { Segment } from "./segment.ts";
import type { Foldable, FoldResult } from "./types.ts";

export const COMPACT_SUFFIX = ".compact";

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
    const buf = readFileSync(s.path);
    let pos = 0;
    for (let d = decodeRecord(buf, 0); pos < s.size && d.ok; d = decodeRecord(buf, pos)) {
      recs.push({ seq: d.seq, time: d.time, msg: d.msg });
      pos += d.size;
    }
    if (pos !== s.size) return undefined;
  }
  const r = fold(recs);
  if (r.folded <= 0) return undefined;
  const first = run[0]!;
  const tmp = `${first.path}${COMPACT_SUFFIX}`;
  let size = 0;
  try {
    const fd = openSync(tmp, "w");
    try {
      for (const o of r.out) {
        const head = encodeHead(o.msg, o.seq, o.time);
        writevSync(fd, [head, o.msg.payload]);
        size += head.byteLength + o.msg.payload.byteLength;
      }
      if (sync) fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, first.path);
  } catch {
    rmSync(tmp, { force: true });
    return undefined;
  }
  for (const s of run.slice(1)) rmSync(s.path, { force: true });
  return { size, folded: r.folded };
}
