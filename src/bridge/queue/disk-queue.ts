import { mkdirSync, unlinkSync } from "node:fs";
import type { Logger } from "../../foundation/logger.ts";
import { CommitFile, type CommitState, CommitWriter } from "./commit-file.ts";
import { lockDir } from "./lock.ts";
import { RoomMaker } from "./make-room.ts";
import { encodeHead, peekRecord, RECORD_PEEK_BYTES } from "./record.ts";
import { recoverSegments } from "./recover.ts";
import type { Hole, Pos, Segment } from "./segment.ts";
import { SegmentReader } from "./segment-reader.ts";
import { type FsyncPolicy, SegmentWriter } from "./segment-writer.ts";
import {
  DropLedger,
  type DropReason,
  type MessageQueue,
  type QueuedMessage,
  type QueueEntry,
  type QueueLimits,
  type QueueStats,
  recordSize,
} from "./types.ts";

export type { FsyncPolicy };

export interface DiskQueueOptions extends QueueLimits {
  dir: string;
  fsync: FsyncPolicy;
  /** Period of the interval flush, and of commit writes in `interval`/`never` mode. */
  fsyncIntervalMs: number;
  /** Segment file size; defaults to maxBytes/64 within [64 KiB, 4 MiB]. */
  segmentBytes?: number;
  log?: Logger;
}

type At =
  | { hole: Hole }
  | { hole?: undefined; size: number; seq: number; time: number; msg?: QueuedMessage; handedOut: boolean };

/**
 * Append-only segment files plus a fixed-size commit file (the seq of the oldest record not yet
 * delivered, and the drop counts). Every record carries its seq and a CRC-32 (record.ts): damage
 * found on open or while sending becomes a hole that is skipped and counted exactly, and the
 * records after it are kept. A write the disk refuses is counted (`disk`) and the queue carries on
 * when space returns. Delivered segments are deleted at once, and an emptied queue starts a fresh
 * segment, so delivered data does not hold disk space. Disk use is at most maxBytes plus a segment.
 */
export class DiskQueue implements MessageQueue {
  private segments: Segment[] = [];
  private head!: Pos;
  private cursor!: Pos;
  private readonly writer: SegmentWriter;
  private nextSeq = 0;
  private depth = 0;
  private bytes = 0;
  private handedOut = 0;
  private appended = 0;
  private diskError?: string;
  private timer?: ReturnType<typeof setInterval>;
  private readonly reader = new SegmentReader();
  private unlock?: () => void;
  private commitWriter!: CommitWriter;
  private ledger!: DropLedger;
  private readonly clock: () => number;
  private readonly room: RoomMaker;

  private constructor(private readonly opts: DiskQueueOptions) {
    this.clock = opts.clock ?? Date.now;
    this.writer = new SegmentWriter(
      opts.dir,
      opts.fsync,
      opts.segmentBytes ?? Math.min(4 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 64))),
    );
    this.room = new RoomMaker(
      {
        segments: () => this.segments,
        head: () => this.head,
        cursor: () => this.cursor,
        release: (seg) => {
          this.reader.release(seg);
          if (seg === this.segments.at(-1)) this.writer.close();
        },
        freed: (bytes, records, reason) => {
          this.bytes -= bytes;
          this.depth -= records;
          this.ledger.add(reason, records);
          this.commitWriter.changed();
        },
      },
      opts,
      opts.fsync !== "never",
    );
  }

  static open(opts: DiskQueueOptions): DiskQueue {
    const q = new DiskQueue(opts);
    try {
      q.recover();
    } catch (e) {
      q.unlock?.();
      throw e;
    }
    q.timer = setInterval(() => q.tick(), Math.max(1, opts.fsyncIntervalMs));
    q.timer.unref?.();
    return q;
  }

  private recover(): void {
    const { dir, log } = this.opts;
    mkdirSync(dir, { recursive: true });
    this.unlock = lockDir(dir);
    const file = CommitFile.open(dir);
    this.commitWriter = new CommitWriter(file, () => this.commitState(), this.opts.fsync === "always");
    const c = file.initial;
    this.ledger = new DropLedger(
      { full: c.full, disk: c.disk, corrupt: c.corrupt, compacted: c.compacted },
      this.opts.onDrop,
    );
    this.ledger.corruptBytes = c.corruptBytes;
    const r = recoverSegments(dir, c.next, this.clock(), log);
    this.segments = r.segments;
    this.nextSeq = r.nextSeq;
    this.depth = r.depth;
    this.bytes = r.bytes;
    const headPos = r.headPos;
    const lastSeg = this.segments.at(-1);
    if (!lastSeg || lastSeg.size >= this.writer.segmentBytes) this.addSegment();
    else this.writer.open(lastSeg);
    const first = this.segments[0]!;
    this.head = { seg: first, pos: headPos, seq: Math.max(first.base, c.next) };
    this.cursor = { ...this.head };
    this.bytes -= headPos;
    if (this.depth || this.ledger.total)
      log?.info("queue: recovered", {
        dir,
        records: this.depth,
        bytes: this.bytes,
        dropped: this.ledger.counts,
      });
  }

  append(msg: QueuedMessage): number | undefined {
    const size = recordSize(msg.topic, msg.payload);
    if (size > this.opts.maxBytes) return this.refused("full");
    const expendable = this.opts.expendable?.(msg) ?? false;
    while (this.bytes + size > this.opts.maxBytes && !this.atEnd(this.head)) {
      if (this.room.step(this.bytes + size - this.opts.maxBytes)) continue;
      // The newest measurement, and no older one is left to go instead of an event.
      if (expendable) return this.refused("full");
      this.removeHead(true);
    }
    const seq = this.nextSeq;
    let seg: Segment;
    try {
      seg = this.writer.segmentFor(this.segments, size, this.nextSeq);
      this.writer.write(seg, encodeHead(msg, seq, this.clock()), msg.payload, size);
    } catch (e) {
      // Not stored: counted, and the queue tries again with the next message.
      const err = e as NodeJS.ErrnoException;
      const reason = err.code ? `${err.code}: ${err.message}` : String(err.message ?? e);
      if (!this.diskError)
        this.opts.log?.error("queue: cannot write to the disk; messages are dropped", { reason });
      this.diskError = reason;
      this.refused("disk");
      this.rollIfEmpty();
      return undefined;
    }
    if (this.diskError) {
      this.opts.log?.info("queue: writing to the disk again", { after: this.diskError });
      this.diskError = undefined;
    }
    seg.size += size;
    seg.end = seq + 1;
    if (expendable) this.room.appendedExpendable(seg);
    this.bytes += size;
    this.depth++;
    this.appended++;
    this.nextSeq++;
    return seq;
  }

  /** Not stored: counted with its reason. */
  private refused(reason: DropReason): undefined {
    this.ledger.add(reason, 1);
    this.commitWriter.changed();
    return undefined;
  }

  next(): QueueEntry | undefined {
    for (;;) {
      this.normalize(this.cursor);
      const c = this.cursor;
      if (c.pos >= c.seg.size) return undefined;
      const at = this.at(c.seg, c.pos, c.seq, true);
      if (at.hole) {
        c.pos = at.hole.end;
        c.seq = at.hole.seqTo;
        continue;
      }
      c.pos += at.size;
      c.seq = at.seq + 1;
      this.handedOut++;
      return { ...at.msg!, seq: at.seq, size: at.size, time: at.time };
    }
  }

  commit(seq: number): void {
    this.ledger.delivered(seq);
    let moved = false;
    while (!this.atEnd(this.head) && this.head.seq <= seq) {
      this.removeHead(false);
      moved = true;
    }
    if (moved) {
      this.commitWriter.changed();
      this.rollIfEmpty();
    }
  }

  rewind(): void {
    this.room.rewound();
    this.cursor = { ...this.head };
    this.handedOut = 0;
    this.ledger.rewound();
  }

  stats(): QueueStats {
    return {
      depth: this.depth,
      bytes: this.bytes,
      unsent: this.depth - this.handedOut,
      drops: this.ledger.total,
      dropped: { ...this.ledger.counts },
      corruptBytes: this.ledger.corruptBytes,
      appended: this.appended,
      nextSeq: this.nextSeq,
      oldestTime: this.oldestTime(),
      diskError: this.diskError,
    };
  }

  flush(): void {
    this.writer.flush();
    this.commitWriter.now(true);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.unlock) return;
    try {
      if (this.opts.fsync === "never") this.commitWriter.tick();
      else this.flush();
    } catch (e) {
      this.opts.log?.error("queue: final flush failed", { error: e });
    }
    this.writer.close(false);
    for (const s of this.segments) this.reader.release(s);
    this.commitWriter.file.close();
    this.unlock();
    this.unlock = undefined;
  }

  private commitState(): CommitState {
    return { next: this.head.seq, corruptBytes: this.ledger.corruptBytes, ...this.ledger.counts };
  }

  private tick(): void {
    try {
      this.writer.tick();
      this.commitWriter.tick();
    } catch (e) {
      this.opts.log?.debug("queue: flush failed", { error: e });
    }
  }

  private atEnd(p: Pos): boolean {
    this.normalize(p);
    return p.pos >= p.seg.size;
  }

  /**
   * Forgets the oldest record: delivered (`dropped` false) or dropped for room. Passing a hole
   * counts its records as corrupt, in the same commit write that moves past them.
   */
  private removeHead(dropped: boolean): void {
    this.normalize(this.head);
    const h = this.head;
    const at = this.at(h.seg, h.pos, h.seq, false);
    if (at.hole) {
      const bytes = at.hole.end - at.hole.pos;
      this.bytes -= bytes;
      this.ledger.corruptBytes += bytes;
      this.ledger.add("corrupt", at.hole.seqTo - at.hole.seqFrom);
      h.seg.holes.splice(h.seg.holes.indexOf(at.hole), 1);
      h.pos = at.hole.end;
      h.seq = at.hole.seqTo;
    } else {
      h.pos += at.size;
      h.seq = at.seq + 1;
      this.depth--;
      this.bytes -= at.size;
      if (at.handedOut) this.handedOut--;
      if (dropped) {
        if (at.handedOut) this.ledger.droppedInFlight(at.seq);
        else this.ledger.add("full", 1);
      }
    }
    if (this.cursor.seq < h.seq) {
      this.cursor = { ...h };
      this.handedOut = 0;
    }
    if (dropped) this.commitWriter.changed();
    this.normalize(h);
  }

  /**
   * The record (or known hole) at `pos`. A record that does not decode becomes a hole up to the
   * next valid record of its segment, whose seq says how many were lost.
   */
  private at(seg: Segment, pos: number, seq: number, withMsg: boolean): At {
    const known = seg.holes.find((x) => x.pos === pos);
    if (known) return { hole: known };
    const handedOut = seq < this.cursor.seq;
    if (!withMsg && handedOut) {
      // Already checked when it was handed out: the header is enough.
      const p = peekRecord(this.reader.peek(seg, pos, RECORD_PEEK_BYTES));
      return { ...p, handedOut };
    }
    const d = this.reader.decodeAt(seg, pos);
    if (d.ok) return { size: d.size, seq: d.seq, time: d.time, msg: d.msg, handedOut };
    const hole = this.reader.holeAt(seg, pos, seq, this.segments[this.segments.indexOf(seg) + 1]?.base);
    seg.holes.push(hole);
    seg.holes.sort((a, b) => a.pos - b.pos);
    // They were counted as stored; they are counted as corrupt once the head passes them.
    this.depth -= Math.min(this.depth, hole.seqTo - hole.seqFrom);
    if (handedOut) this.handedOut -= Math.min(this.handedOut, hole.seqTo - hole.seqFrom);
    this.opts.log?.error("queue: corrupt data found; skipped, the records after it are kept", {
      path: seg.path,
      at: pos,
      bytes: hole.end - hole.pos,
      records: hole.seqTo - hole.seqFrom,
      reason: d.reason,
    });
    return { hole };
  }

  /** Moves a position at the end of a finished segment to the start of the next one. */
  private normalize(p: Pos): void {
    while (p.pos >= p.seg.size && p.seg !== this.segments.at(-1)) {
      const i = this.segments.indexOf(p.seg);
      const nextSeg = this.segments[i + 1]!;
      p.seg = nextSeg;
      p.pos = 0;
      p.seq = Math.max(p.seq, nextSeg.base);
    }
    if (p === this.head) this.deleteBefore(p.seg);
  }

  private deleteBefore(seg: Segment): void {
    while (this.segments[0] && this.segments[0] !== seg) {
      const old = this.segments.shift()!;
      this.reader.release(old);
      // The commit must move past it first, or a restart would find the commit pointing into a gap.
      try {
        this.commitWriter.now();
        unlinkSync(old.path);
      } catch (e) {
        this.opts.log?.warn("queue: cannot delete segment", { path: old.path, error: e });
      }
    }
  }

  /**
   * Once everything is delivered, the rest of the current segment is dead data: start a fresh
   * segment and delete it (at once when the disk is full, else when it is a quarter full).
   */
  private rollIfEmpty(): void {
    if (this.depth > 0 || !this.atEnd(this.head)) return;
    const last = this.segments.at(-1)!;
    if (last.size === 0 || last.size < (this.diskError ? 1 : this.writer.segmentBytes / 4)) return;
    try {
      this.addSegment();
      this.normalize(this.head);
      this.cursor = { ...this.head };
    } catch (e) {
      this.opts.log?.debug("queue: cannot start a new segment", { error: e });
    }
  }

  private addSegment(): Segment {
    return this.writer.startSegment(this.segments, this.nextSeq);
  }

  /** Append time of the oldest stored record. */
  private oldestTime(): number | undefined {
    if (!this.depth) return undefined;
    const p = { ...this.head };
    for (let guard = 0; guard < 1000; guard++) {
      this.normalize(p);
      if (p.pos >= p.seg.size) return undefined;
      const hole = p.seg.holes.find((x) => x.pos === p.pos);
      if (!hole) return peekRecord(this.reader.peek(p.seg, p.pos, RECORD_PEEK_BYTES)).time;
      p.pos = hole.end;
      p.seq = hole.seqTo;
    }
    return undefined;
  }
}
