import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  truncateSync,
  unlinkSync,
  writevSync,
} from "node:fs";
import { syncDir } from "../../foundation/files.ts";
import type { Logger } from "../../foundation/logger.ts";
import { CommitFile, type CommitState } from "./commit-file.ts";
import { convertLegacySegments } from "./legacy.ts";
import { lockDir } from "./lock.ts";
import {
  type Decoded,
  decodeRecord,
  encodeHead,
  nextValid,
  peekRecord,
  RECORD_HEADER_BYTES,
  RECORD_PEEK_BYTES,
} from "./record.ts";
import { type Hole, listSegmentBases, type Segment, scanSegment, segmentPath } from "./segment.ts";
import {
  DropLedger,
  type MessageQueue,
  type QueuedMessage,
  type QueueEntry,
  type QueueLimits,
  type QueueStats,
  recordSize,
} from "./types.ts";

/**
 * When data reaches the disk:
 * - `always`: every append is fdatasync'ed before `append` returns, and every commit is fsync'ed.
 *   Survives power loss; costs one disk flush per message.
 * - `interval` (default): appends are written to the OS at once (so they survive `kill -9` and any
 *   crash of ledge) and flushed to the disk every `fsyncIntervalMs`; a power loss can lose at most
 *   that window.
 * - `never`: written to the OS at once, flushed when the OS decides (and on clean shutdown).
 */
export type FsyncPolicy = "always" | "interval" | "never";

export interface DiskQueueOptions extends QueueLimits {
  dir: string;
  fsync: FsyncPolicy;
  /** Period of the interval flush, and of commit writes in `interval`/`never` mode. */
  fsyncIntervalMs: number;
  /** Segment file size; defaults to maxBytes/64 within [64 KiB, 4 MiB]. */
  segmentBytes?: number;
  log?: Logger;
}

interface Pos {
  seg: Segment;
  pos: number;
  seq: number;
}

type At =
  | { hole: Hole }
  | { hole?: undefined; size: number; seq: number; time: number; msg?: QueuedMessage; handedOut: boolean };

const READ_AHEAD = 64 * 1024;

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
  private writeFd = -1;
  private nextSeq = 0;
  private depth = 0;
  private bytes = 0;
  private handedOut = 0;
  private appended = 0;
  private dirty = false;
  private commitDirty = false;
  private diskError?: string;
  private timer?: ReturnType<typeof setInterval>;
  private readBuf?: { seg: Segment; start: number; buf: Buffer };
  private unlock?: () => void;
  private commitFile!: CommitFile;
  private ledger!: DropLedger;
  private readonly segmentBytes: number;
  private readonly clock: () => number;

  private constructor(private readonly opts: DiskQueueOptions) {
    this.segmentBytes =
      opts.segmentBytes ?? Math.min(4 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 64)));
    this.clock = opts.clock ?? Date.now;
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
    this.commitFile = CommitFile.open(dir);
    const c = this.commitFile.initial;
    this.ledger = new DropLedger(
      { full: c.full, disk: c.disk, corrupt: c.corrupt, compacted: c.compacted },
      this.opts.onDrop,
    );
    this.ledger.corruptBytes = c.corruptBytes;
    const carried = convertLegacySegments(dir, c.next, this.clock());
    if (carried) log?.info("queue: carried over records of the previous queue format", { records: carried });
    this.nextSeq = c.next;
    const bases = listSegmentBases(dir);
    let headPos = 0;
    for (const [i, base] of bases.entries()) {
      const path = segmentPath(dir, base);
      const scan = scanSegment(path, base, c.next);
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
      this.nextSeq = Math.max(this.nextSeq, end);
      if (end <= c.next) {
        unlinkSync(path);
        continue;
      }
      // A hole in records already delivered only counts from the commit on.
      for (const h of scan.holes) h.seqFrom = Math.min(h.seqTo, Math.max(h.seqFrom, c.next));
      const firstKept = !this.segments.length;
      if (firstKept && c.next > base) headPos = scan.posOf;
      const holes = firstKept ? scan.holes.filter((h) => h.end > headPos) : scan.holes;
      this.segments.push({ base, path, size, end, holes });
      this.depth += scan.count;
      this.bytes += size;
    }
    const lastSeg = this.segments.at(-1);
    if (!lastSeg || lastSeg.size >= this.segmentBytes) this.addSegment();
    else this.writeFd = openSync(lastSeg.path, "a");
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
    if (size > this.opts.maxBytes) {
      this.ledger.add("full", 1);
      this.committed();
      return undefined;
    }
    while (this.bytes + size > this.opts.maxBytes && !this.atEnd(this.head)) this.removeHead(true);
    const seq = this.nextSeq;
    let seg: Segment;
    try {
      seg = this.writable(size);
      this.writeAll(seg, encodeHead(msg, seq, this.clock()), msg.payload, size);
      if (this.opts.fsync === "always") fdatasyncSync(this.writeFd);
    } catch (e) {
      // Not stored: counted, and the queue tries again with the next message.
      const err = e as NodeJS.ErrnoException;
      const reason = err.code ? `${err.code}: ${err.message}` : String(err.message ?? e);
      if (!this.diskError)
        this.opts.log?.error("queue: cannot write to the disk; messages are dropped", { reason });
      this.diskError = reason;
      this.ledger.add("disk", 1);
      this.committed();
      this.rollIfEmpty();
      return undefined;
    }
    if (this.diskError) {
      this.opts.log?.info("queue: writing to the disk again", { after: this.diskError });
      this.diskError = undefined;
    }
    if (this.opts.fsync !== "always") this.dirty = true;
    seg.size += size;
    seg.end = seq + 1;
    this.bytes += size;
    this.depth++;
    this.appended++;
    this.nextSeq++;
    return seq;
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
      this.committed();
      this.rollIfEmpty();
    }
  }

  rewind(): void {
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
      oldestTime: this.oldestTime(),
      diskError: this.diskError,
    };
  }

  flush(): void {
    if (this.writeFd >= 0) fdatasyncSync(this.writeFd);
    this.dirty = false;
    this.commitFile.write(this.commitState(), true);
    this.commitDirty = false;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.unlock) return;
    try {
      if (this.opts.fsync === "never") {
        if (this.commitDirty) this.commitFile.write(this.commitState(), false);
      } else this.flush();
    } catch (e) {
      this.opts.log?.error("queue: final flush failed", { error: e });
    }
    if (this.writeFd >= 0) closeSync(this.writeFd);
    this.writeFd = -1;
    for (const s of this.segments) this.closeRead(s);
    this.commitFile.close();
    this.unlock();
    this.unlock = undefined;
  }

  private commitState(): CommitState {
    return { next: this.head.seq, corruptBytes: this.ledger.corruptBytes, ...this.ledger.counts };
  }

  private tick(): void {
    try {
      if (this.dirty && this.opts.fsync === "interval" && this.writeFd >= 0) {
        fdatasyncSync(this.writeFd);
        this.dirty = false;
      }
      if (this.commitDirty) {
        this.commitFile.write(this.commitState(), false);
        this.commitDirty = false;
      }
    } catch (e) {
      this.opts.log?.debug("queue: flush failed", { error: e });
    }
  }

  private committed(): void {
    if (this.opts.fsync === "always") this.commitFile.write(this.commitState(), true);
    else this.commitDirty = true;
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
    if (dropped) this.committed();
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
      const p = peekRecord(this.read(seg, pos, RECORD_PEEK_BYTES));
      return { ...p, handedOut };
    }
    const d = this.decodeAt(seg, pos);
    if (d.ok) return { size: d.size, seq: d.seq, time: d.time, msg: d.msg, handedOut };
    const rest = this.read(seg, pos, seg.size - pos);
    const found = nextValid(rest, 1);
    const next = this.segments[this.segments.indexOf(seg) + 1];
    const hole: Hole = {
      pos,
      end: found ? pos + found.pos : seg.size,
      seqFrom: seq,
      seqTo: found ? Math.max(seq, found.seq) : Math.max(seq + 1, next ? next.base : seg.end),
    };
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
      this.closeRead(old);
      if (this.readBuf?.seg === old) this.readBuf = undefined;
      // The commit must move past it first, or a restart would find the commit pointing into a gap.
      try {
        this.commitFile.write(this.commitState(), this.opts.fsync === "always");
        this.commitDirty = false;
        unlinkSync(old.path);
      } catch (e) {
        this.opts.log?.warn("queue: cannot delete segment", { path: old.path, error: e });
      }
    }
  }

  /** The segment the next record goes to: a new one when the last is full or was not opened. */
  private writable(size: number): Segment {
    const last = this.segments.at(-1)!;
    if (this.writeFd >= 0 && last.size + size <= this.segmentBytes) return last;
    if (this.writeFd < 0 && last.size < this.segmentBytes) {
      this.writeFd = openSync(last.path, "a");
      return last;
    }
    if (last.size === 0) return last;
    return this.addSegment();
  }

  /**
   * Once everything is delivered, the rest of the current segment is dead data: start a fresh
   * segment and delete it (at once when the disk is full, else when it is a quarter full).
   */
  private rollIfEmpty(): void {
    if (this.depth > 0 || !this.atEnd(this.head)) return;
    const last = this.segments.at(-1)!;
    if (last.size === 0 || last.size < (this.diskError ? 1 : this.segmentBytes / 4)) return;
    try {
      this.addSegment();
      this.normalize(this.head);
      this.cursor = { ...this.head };
    } catch (e) {
      this.opts.log?.debug("queue: cannot start a new segment", { error: e });
    }
  }

  private addSegment(): Segment {
    if (this.writeFd >= 0) {
      const fd = this.writeFd;
      this.writeFd = -1;
      try {
        if (this.opts.fsync !== "never") fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    const seg: Segment = {
      base: this.nextSeq,
      path: segmentPath(this.opts.dir, this.nextSeq),
      size: 0,
      end: this.nextSeq,
      holes: [],
    };
    this.writeFd = openSync(seg.path, "a");
    if (this.opts.fsync === "always") syncDir(this.opts.dir);
    this.segments.push(seg);
    return seg;
  }

  private writeAll(seg: Segment, head: Buffer, payload: Uint8Array, size: number): void {
    try {
      let done = writevSync(this.writeFd, [head, payload]);
      while (done < size) {
        const rest =
          done < head.byteLength
            ? Buffer.concat([head.subarray(done), payload])
            : payload.subarray(done - head.byteLength);
        done += writevSync(this.writeFd, [rest]);
      }
    } catch (e) {
      // Leave no half record behind: later appends would sit after garbage.
      try {
        ftruncateSync(this.writeFd, seg.size);
      } catch {}
      throw e;
    }
  }

  private readFd(seg: Segment): number {
    seg.fd ??= openSync(seg.path, "r");
    return seg.fd;
  }

  private closeRead(seg: Segment): void {
    if (seg.fd !== undefined) closeSync(seg.fd);
    seg.fd = undefined;
  }

  /** `len` bytes at `pos` (fewer at the end of the segment), through the read-ahead buffer. */
  private read(seg: Segment, pos: number, len: number): Buffer {
    const rb = this.readBuf;
    if (rb && rb.seg === seg && pos >= rb.start && pos + len <= rb.start + rb.buf.byteLength)
      return rb.buf.subarray(pos - rb.start, pos - rb.start + len);
    return this.fill(seg, pos, len).subarray(0, len);
  }

  /** A fresh read buffer from `pos` (never reused: payloads handed out are views of it). */
  private fill(seg: Segment, pos: number, len: number): Buffer {
    const n = Math.max(0, Math.min(Math.max(len, READ_AHEAD), seg.size - pos));
    const buf = Buffer.allocUnsafe(n);
    const got = n ? readSync(this.readFd(seg), buf, 0, n, pos) : 0;
    this.readBuf = { seg, start: pos, buf: buf.subarray(0, got) };
    return this.readBuf.buf;
  }

  /** Decodes the record at `pos`, reading ahead: sending is sequential. */
  private decodeAt(seg: Segment, pos: number): Decoded {
    const rb = this.readBuf;
    if (rb && rb.seg === seg && pos >= rb.start && pos < rb.start + rb.buf.byteLength) {
      const d = decodeRecord(rb.buf, pos - rb.start);
      if (d.ok || d.reason !== "short" || rb.start + rb.buf.byteLength >= seg.size) return d;
    }
    let buf = this.fill(seg, pos, READ_AHEAD);
    let d = decodeRecord(buf, 0);
    if (!d.ok && d.reason === "short" && buf.byteLength >= RECORD_HEADER_BYTES) {
      const want = RECORD_HEADER_BYTES + buf.readUInt32LE(2);
      if (want <= seg.size - pos && want > buf.byteLength) {
        buf = this.fill(seg, pos, want);
        d = decodeRecord(buf, 0);
      }
    }
    return d;
  }

  /** Append time of the oldest stored record. */
  private oldestTime(): number | undefined {
    if (!this.depth) return undefined;
    const p = { ...this.head };
    for (let guard = 0; guard < 1000; guard++) {
      this.normalize(p);
      if (p.pos >= p.seg.size) return undefined;
      const hole = p.seg.holes.find((x) => x.pos === p.pos);
      if (!hole) return peekRecord(this.read(p.seg, p.pos, RECORD_PEEK_BYTES)).time;
      p.pos = hole.end;
      p.seq = hole.seqTo;
    }
    return undefined;
  }
}
