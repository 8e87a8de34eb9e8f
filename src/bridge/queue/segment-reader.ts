import { closeSync, openSync, readSync } from "node:fs";
import { type Decoded, decodeRecord, nextValid, RECORD_HEADER_BYTES } from "./record.ts";
import type { Hole, Segment } from "./segment.ts";

const READ_AHEAD = 64 * 1024;

/**
 * Reads records out of segment files through one read-ahead buffer: sending is sequential. A
 * buffer is never reused, so payloads handed out as views of it stay valid.
 */
export class SegmentReader {
  private buf?: { seg: Segment; start: number; buf: Buffer };

  /** `len` bytes at `pos` (fewer at the end of the segment). */
  read(seg: Segment, pos: number, len: number): Buffer {
    const rb = this.buf;
    if (rb && rb.seg === seg && pos >= rb.start && pos + len <= rb.start + rb.buf.byteLength)
      return rb.buf.subarray(pos - rb.start, pos - rb.start + len);
    return this.fill(seg, pos, len).subarray(0, len);
  }

  /**
   * `len` bytes at `pos` without moving the read-ahead buffer: the head (commits, oldest age) is
   * read here while sending reads ahead at the cursor, and the two must not evict each other.
   */
  peek(seg: Segment, pos: number, len: number): Buffer {
    const rb = this.buf;
    if (rb && rb.seg === seg && pos >= rb.start && pos + len <= rb.start + rb.buf.byteLength)
      return rb.buf.subarray(pos - rb.start, pos - rb.start + len);
    const buf = Buffer.allocUnsafe(len);
    seg.fd ??= openSync(seg.path, "r");
    return buf.subarray(0, readSync(seg.fd, buf, 0, len, pos));
  }

  /** Decodes the record at `pos`. */
  decodeAt(seg: Segment, pos: number): Decoded {
    const rb = this.buf;
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

  /**
   * The damaged stretch starting at `pos` (a record there with seq `seq` does not decode):
   * resynchronised on the next valid record of the segment, whose seq says how many were lost;
   * without one it runs to the segment's end, and `nextBase` (the next segment's first seq) says.
   */
  holeAt(seg: Segment, pos: number, seq: number, nextBase: number | undefined): Hole {
    const found = nextValid(this.read(seg, pos, seg.size - pos), 1);
    return {
      pos,
      end: found ? pos + found.pos : seg.size,
      seqFrom: seq,
      seqTo: found ? Math.max(seq, found.seq) : Math.max(seq + 1, nextBase ?? seg.end),
    };
  }

  /** Forgets a segment's descriptor and buffered bytes (deleted or rewritten). */
  release(seg: Segment): void {
    if (seg.fd !== undefined) closeSync(seg.fd);
    seg.fd = undefined;
    if (this.buf?.seg === seg) this.buf = undefined;
  }

  private fill(seg: Segment, pos: number, len: number): Buffer {
    const n = Math.max(0, Math.min(Math.max(len, READ_AHEAD), seg.size - pos));
    const buf = Buffer.allocUnsafe(n);
    seg.fd ??= openSync(seg.path, "r");
    const got = n ? readSync(seg.fd, buf, 0, n, pos) : 0;
    this.buf = { seg, start: pos, buf: buf.subarray(0, got) };
    return this.buf.buf;
  }
}
