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
import { lockDir } from "./lock.ts";
import { decodeRecord, encodeHead, RECORD_HEADER_BYTES, sizeFromHeader } from "./record.ts";
import {
  listSegmentBases,
  readCommit,
  type Segment,
  scanSegment,
  segmentPath,
  writeCommit,
} from "./segment.ts";
import {
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
  /** Period of the interval flush, and of commit-file writes in `interval`/`never` mode. */
  fsyncIntervalMs: number;
  /** Segment file size; defaults to maxBytes/8 within [64 KiB, 4 MiB]. */
  segmentBytes?: number;
  log?: Logger;
}

interface Pos {
  seg: Segment;
  pos: number;
  seq: number;
}

const READ_AHEAD = 64 * 1024;

/**
 * Append-only segment files plus a commit file (`commit.json`, the seq of the oldest record not yet
 * delivered). Records carry a length and a CRC-32; on open every stored record is checked, a torn
 * last record (crash mid-write) is cut off, and delivery resumes at the committed seq. Disk use is
 * at most maxBytes plus one segment (a segment is deleted once every record in it is gone).
 */
export class DiskQueue implements MessageQueue {
  private segments: Segment[] = [];
  private head!: Pos;
  private cursor!: Pos;
  private writeFd = -1;
  private nextSeq = 0;
  private depth = 0;
  private bytes = 0;
  private drops = 0;
  private appended = 0;
  private dirty = false;
  private commitDirty = false;
  private timer?: ReturnType<typeof setInterval>;
  private readBuf?: { seg: Segment; start: number; buf: Buffer };
  private unlock?: () => void;
  private readonly segmentBytes: number;

  private constructor(private readonly opts: DiskQueueOptions) {
    this.segmentBytes =
      opts.segmentBytes ?? Math.min(4 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 8)));
  }

  static open(opts: DiskQueueOptions): DiskQueue {
    const q = new DiskQueue(opts);
    q.recover();
    q.timer = setInterval(() => q.tick(), Math.max(1, opts.fsyncIntervalMs));
    q.timer.unref?.();
    return q;
  }

  private recover(): void {
    const { dir, log } = this.opts;
    mkdirSync(dir, { recursive: true });
    this.unlock = lockDir(dir);
    const committed = readCommit(dir);
    this.drops = committed.drops;
    this.nextSeq = committed.next;
    const bases = listSegmentBases(dir);
    let headPos = 0;
    for (const [i, base] of bases.entries()) {
      const path = segmentPath(dir, base);
      const scan = scanSegment(path, Math.max(0, committed.next - base));
      const last = i === bases.length - 1;
      if (scan.bad) {
        if (last) {
          // A crash in the middle of an append: that record was never stored, so never acknowledged.
          truncateSync(path, scan.validBytes);
          log?.warn("queue: cut a torn record off the end of the queue", { path, reason: scan.bad });
        } else {
          this.drops++;
          log?.error("queue: corrupt record; the rest of its segment is skipped", {
            path,
            reason: scan.bad,
          });
        }
      }
      this.nextSeq = Math.max(this.nextSeq, base + scan.count);
      if (base + scan.count <= committed.next) {
        unlinkSync(path);
        continue;
      }
      if (!this.segments.length && committed.next > base) headPos = scan.posOf ?? 0;
      this.segments.push({ base, path, size: scan.validBytes, count: scan.count });
    }
    const lastSeg = this.segments.at(-1);
    if (!lastSeg || lastSeg.size >= this.segmentBytes) this.addSegment();
    else this.writeFd = openSync(lastSeg.path, "a");
    const first = this.segments[0]!;
    const headSeq = Math.max(first.base, committed.next);
    this.head = { seg: first, pos: headPos, seq: headSeq };
    this.cursor = { ...this.head };
    for (const s of this.segments) {
      this.depth += s.count;
      this.bytes += s.size;
    }
    this.depth -= headSeq - first.base;
    this.bytes -= headPos;
    if (this.depth || committed.drops)
      log?.info("queue: recovered", { dir, records: this.depth, bytes: this.bytes, drops: this.drops });
  }

  append(msg: QueuedMessage): number | undefined {
    const size = recordSize(msg.topic, msg.payload);
    if (size > this.opts.maxBytes) {
      this.dropped(1);
      return undefined;
    }
    let n = 0;
    while (this.bytes + size > this.opts.maxBytes && this.depth > 0) {
      this.removeHead();
      n++;
    }
    if (n) this.dropped(n);
    let seg = this.segments.at(-1)!;
    if (seg.size >= this.segmentBytes) seg = this.addSegment();
    const head = encodeHead(msg);
    this.writeAll(seg, head, msg.payload, size);
    seg.size += size;
    seg.count++;
    this.bytes += size;
    this.depth++;
    this.appended++;
    if (this.opts.fsync === "always") fdatasyncSync(this.writeFd);
    else this.dirty = true;
    return this.nextSeq++;
  }

  next(): QueueEntry | undefined {
    this.normalize(this.cursor);
    const c = this.cursor;
    if (c.pos >= c.seg.size) return undefined;
    const { msg, size } = this.readAt(c.seg, c.pos);
    const entry: QueueEntry = { ...msg, seq: c.seq, size };
    c.pos += size;
    c.seq++;
    return entry;
  }

  commit(seq: number): void {
    let moved = false;
    while (this.depth > 0 && this.head.seq <= seq) {
      this.removeHead();
      moved = true;
    }
    if (moved) this.committed();
  }

  rewind(): void {
    this.cursor = { ...this.head };
  }

  stats(): QueueStats {
    let unsent = 0;
    this.normalize(this.cursor);
    // Records from the cursor to the end: the rest of its segment plus the later segments.
    const idx = this.segments.indexOf(this.cursor.seg);
    for (let i = idx; i < this.segments.length; i++) {
      const s = this.segments[i]!;
      unsent += i === idx ? s.base + s.count - this.cursor.seq : s.count;
    }
    return { depth: this.depth, bytes: this.bytes, unsent, drops: this.drops, appended: this.appended };
  }

  flush(): void {
    if (this.writeFd >= 0) fdatasyncSync(this.writeFd);
    this.dirty = false;
    writeCommit(this.opts.dir, { next: this.head.seq, drops: this.drops }, true);
    this.commitDirty = false;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.writeFd < 0) return;
    if (this.opts.fsync === "never") {
      if (this.commitDirty) writeCommit(this.opts.dir, { next: this.head.seq, drops: this.drops }, false);
    } else this.flush();
    closeSync(this.writeFd);
    this.writeFd = -1;
    for (const s of this.segments) this.closeRead(s);
    this.unlock?.();
  }

  private tick(): void {
    try {
      if (this.dirty && this.opts.fsync === "interval" && this.writeFd >= 0) {
        fdatasyncSync(this.writeFd);
        this.dirty = false;
      }
      if (this.commitDirty) {
        writeCommit(this.opts.dir, { next: this.head.seq, drops: this.drops }, false);
        this.commitDirty = false;
      }
    } catch (e) {
      this.opts.log?.error("queue: flush failed", { error: e });
    }
  }

  private committed(): void {
    if (this.opts.fsync === "always")
      writeCommit(this.opts.dir, { next: this.head.seq, drops: this.drops }, true);
    else this.commitDirty = true;
  }

  private dropped(n: number): void {
    this.drops += n;
    this.committed();
    this.opts.onDrop?.(n);
  }

  /** Forgets the oldest record (delivered or dropped); deletes segments left behind. */
  private removeHead(): void {
    this.normalize(this.head);
    const h = this.head;
    const size = this.sizeAt(h.seg, h.pos);
    h.pos += size;
    h.seq++;
    this.depth--;
    this.bytes -= size;
    if (this.cursor.seq < h.seq) this.cursor = { ...h };
    this.normalize(h);
  }

  /** Moves a position at the end of a finished segment to the start of the next one. */
  private normalize(p: Pos): void {
    while (p.pos >= p.seg.size && p.seg !== this.segments.at(-1)) {
      const i = this.segments.indexOf(p.seg);
      const nextSeg = this.segments[i + 1]!;
      p.seg = nextSeg;
      p.pos = 0;
      p.seq = nextSeg.base;
    }
    if (p === this.head) this.deleteBefore(p.seg);
  }

  private deleteBefore(seg: Segment): void {
    while (this.segments[0] && this.segments[0] !== seg) {
      const old = this.segments.shift()!;
      this.closeRead(old);
      if (this.readBuf?.seg === old) this.readBuf = undefined;
      // The commit file must move past it first, or a restart would find the commit pointing into a gap.
      writeCommit(this.opts.dir, { next: this.head.seq, drops: this.drops }, this.opts.fsync === "always");
      this.commitDirty = false;
      try {
        unlinkSync(old.path);
      } catch (e) {
        this.opts.log?.warn("queue: cannot delete segment", { path: old.path, error: e });
      }
    }
  }

  private addSegment(): Segment {
    if (this.writeFd >= 0) {
      if (this.opts.fsync !== "never") fdatasyncSync(this.writeFd);
      closeSync(this.writeFd);
    }
    const seg: Segment = {
      base: this.nextSeq,
      path: segmentPath(this.opts.dir, this.nextSeq),
      size: 0,
      count: 0,
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
      // Leave no half record behind: later appends would sit after garbage and be lost on restart.
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

  private sizeAt(seg: Segment, pos: number): number {
    const rb = this.readBuf;
    if (rb && rb.seg === seg && pos >= rb.start && pos + RECORD_HEADER_BYTES <= rb.start + rb.buf.byteLength)
      return sizeFromHeader(rb.buf.subarray(pos - rb.start));
    const hdr = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    readSync(this.readFd(seg), hdr, 0, RECORD_HEADER_BYTES, pos);
    return sizeFromHeader(hdr);
  }

  /** Reads through a read-ahead buffer: draining is sequential. Payloads are views of fresh buffers. */
  private readAt(seg: Segment, pos: number): { msg: QueuedMessage; size: number } {
    for (let attempt = 0; attempt < 2; attempt++) {
      const rb = this.readBuf;
      if (rb && rb.seg === seg && pos >= rb.start && pos < rb.start + rb.buf.byteLength) {
        const d = decodeRecord(rb.buf, pos - rb.start);
        if (d.ok) return { msg: d.msg, size: d.size };
        if (d.reason !== "short") break;
      }
      const want = Math.max(READ_AHEAD, pos + RECORD_HEADER_BYTES <= seg.size ? this.sizeAt(seg, pos) : 0);
      const len = Math.min(want, seg.size - pos);
      const buf = Buffer.allocUnsafe(len);
      const got = readSync(this.readFd(seg), buf, 0, len, pos);
      this.readBuf = { seg, start: pos, buf: buf.subarray(0, got) };
    }
    throw new Error(`queue: unreadable record at ${seg.path}:${pos}`);
  }
}
