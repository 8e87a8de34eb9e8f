import type { Pos, Segment } from "./segment.ts";
import { compactRun, thinSegment } from "./segment-rewrite.ts";
import type { QueueLimits } from "./types.ts";

/** What making room sees of the disk queue, and how it reports what it freed. */
export interface RoomHost {
  /** The queue's segments, oldest first: the live array, spliced in place. */
  segments(): Segment[];
  head(): Pos;
  cursor(): Pos;
  /** Before a segment file is rewritten: drop its read buffers (and its append descriptor). */
  release(seg: Segment): void;
  /** `bytes` and `records` freed, counted with their reason. */
  freed(bytes: number, records: number, reason: "compacted" | "full"): void;
}

/**
 * A full disk queue's ways of freeing room short of dropping its oldest record, tried in this
 * order: fold the unsent backlog (QueueLimits.compact), then drop the oldest unsent expendable
 * records (QueueLimits.expendable). Each rewrites segment files by rename, keeps seqs (the commit
 * stays valid) and costs one pass over the segments it rewrites, never over the whole queue per
 * message.
 */
export class RoomMaker {
  /** Segments offered to compaction already (one pass each). */
  private readonly compacted = new WeakSet<Segment>();
  /** Segments holding no unsent expendable record (an expendable append to one unmarks it). */
  private readonly thinned = new WeakSet<Segment>();

  constructor(
    private readonly host: RoomHost,
    private readonly limits: Pick<QueueLimits, "compact" | "expendable" | "maxBytes">,
    private readonly sync: boolean,
  ) {}

  /** One step towards freeing `need` bytes; true when it freed some. */
  step(need: number): boolean {
    return this.compactOne() || this.thinOne(need);
  }

  /** An expendable record was appended to `seg`. */
  appendedExpendable(seg: Segment): void {
    this.thinned.delete(seg);
  }

  /** What was handed out (up to the cursor's segment) is unsent again, never offered to thinning. */
  rewound(): void {
    const cursor = this.host.cursor();
    for (const seg of this.host.segments()) {
      this.thinned.delete(seg);
      if (seg === cursor.seg) break;
    }
  }

  /**
   * Compact-before-drop: rewrites the run of closed segments that are wholly unsent as one segment
   * with their measurements folded, once a quarter of it is new since the last pass. The new file
   * replaces the run's first by rename and the others are deleted after it, so a crash leaves the
   * old records or the new ones (a leftover is recognised on start by its base lying inside the
   * segment before it).
   */
  private compactOne(): boolean {
    const fold = this.limits.compact;
    if (!fold) return false;
    const segments = this.host.segments();
    const head = this.host.head();
    const cursor = this.host.cursor();
    const closed = segments.slice(0, -1);
    const start = closed.findIndex(
      (s) => !s.holes.length && s.base >= cursor.seq && !(s === head.seg && head.pos > 0),
    );
    if (start < 0) return false;
    const run: Segment[] = [];
    for (const s of closed.slice(start)) {
      if (s.holes.length) break;
      run.push(s);
    }
    const total = run.reduce((n, s) => n + s.size, 0);
    const fresh = run.filter((s) => !this.compacted.has(s)).reduce((n, s) => n + s.size, 0);
    if (run.length === 0 || fresh * 4 < total) return false;
    for (const s of run) {
      this.compacted.add(s);
      this.host.release(s);
    }
    const done = compactRun(run, fold, this.sync);
    if (!done) return false;
    const first = run[0]!;
    segments.splice(segments.indexOf(first) + 1, run.length - 1);
    first.size = done.size;
    first.end = run.at(-1)!.end;
    this.compacted.add(first);
    // Its summaries are measurements again.
    this.thinned.delete(first);
    this.host.freed(total - done.size, done.folded, "compacted");
    return true;
  }

  /**
   * Drop priority: rewrites the oldest segment that may still hold unsent expendable records
   * without its oldest ones, enough for `need` bytes and a sixty-fourth of the bound more (so one
   * rewrite of a segment, a sixty-fourth of the bound by default, serves many appends), counted as
   * `full`. Records already handed out (the bytes before the cursor) are kept as they are, so
   * positions and in-flight accounting do not move. A segment found without expendable records is
   * not read again until one is appended to it.
   */
  private thinOne(need: number): boolean {
    const expendable = this.limits.expendable;
    if (!expendable) return false;
    const segments = this.host.segments();
    const cursor = this.host.cursor();
    const from = segments.indexOf(cursor.seg);
    for (const seg of segments.slice(Math.max(0, from))) {
      if (seg.holes.length || seg.size === 0 || this.thinned.has(seg)) continue;
      const keep = seg === cursor.seg ? cursor.pos : 0;
      this.host.release(seg);
      const target = need + Math.floor(this.limits.maxBytes / 64);
      const done = thinSegment(seg, keep, expendable, target, this.sync);
      // Also when the rewrite failed (disk full): tried again only once it holds new measurements.
      if (!done?.more) this.thinned.add(seg);
      if (!done?.dropped) continue;
      const freed = seg.size - done.size;
      seg.size = done.size;
      this.host.freed(freed, done.dropped, "full");
      return true;
    }
    return false;
  }
}
