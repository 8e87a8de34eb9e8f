/**
 * Writing and reading the two CBOR sequences (RFC 8742) inside a frame: numbers only, each an integer
 * (major type 0 or 1) or a float (single or double precision, the smallest that is exact).
 * Hand-written because these are the per-record hot path: no allocation, no generic dispatch.
 */
import { BatchFormatError } from "./format.ts";

const TWO32 = 0x100000000;

export class SeqWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  /** A safe integer. */
  int(v: number): void {
    const b = this.bytes;
    let p = this.pos;
    let major = 0;
    let n = v;
    if (v < 0) {
      major = 0x20;
      n = -1 - v;
    }
    if (n < 24) b[p++] = major | n;
    else if (n < 0x100) {
      b[p++] = major | 24;
      b[p++] = n;
    } else if (n < 0x10000) {
      b[p++] = major | 25;
      b[p++] = n >>> 8;
      b[p++] = n & 0xff;
    } else if (n < TWO32) {
      b[p++] = major | 26;
      this.view.setUint32(p, n);
      p += 4;
    } else {
      b[p++] = major | 27;
      this.view.setUint32(p, Math.floor(n / TWO32));
      this.view.setUint32(p + 4, n >>> 0);
      p += 8;
    }
    this.pos = p;
  }

  /** Any number as a float: single precision when exact (NaN included), else double. */
  float(v: number): void {
    const p = this.pos;
    if (Math.fround(v) === v || Number.isNaN(v)) {
      this.bytes[p] = 0xfa;
      this.view.setFloat32(p + 1, v);
      this.pos = p + 5;
    } else {
      this.bytes[p] = 0xfb;
      this.view.setFloat64(p + 1, v);
      this.pos = p + 9;
    }
  }
}

export class SeqReader {
  private readonly view: DataView;
  private pos = 0;
  /** Whether the last item read was an integer (else a float). */
  isInt = false;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos === this.bytes.length;
  }

  next(): number {
    const b = this.bytes;
    const p = this.pos;
    if (p >= b.length) throw this.bad("ends before the last record");
    const head = b[p]!;
    if (head === 0xfa || head === 0xfb) {
      const size = head === 0xfa ? 4 : 8;
      if (p + 1 + size > b.length) throw this.bad("ends inside a float");
      this.isInt = false;
      this.pos = p + 1 + size;
      return size === 4 ? this.view.getFloat32(p + 1) : this.view.getFloat64(p + 1);
    }
    const major = head >> 5;
    const ai = head & 31;
    if (major > 1 || ai > 27) throw this.bad(`has a non-number item 0x${head.toString(16)} at byte ${p}`);
    let n: number;
    let q = p + 1;
    if (ai < 24) n = ai;
    else {
      const size = 1 << (ai - 24);
      if (q + size > b.length) throw this.bad("ends inside an integer");
      n =
        size === 1
          ? b[q]!
          : size === 2
            ? this.view.getUint16(q)
            : size === 4
              ? this.view.getUint32(q)
              : this.view.getUint32(q) * TWO32 + this.view.getUint32(q + 4);
      if (n > Number.MAX_SAFE_INTEGER) throw this.bad(`has an integer beyond 2^53 at byte ${p}`);
      q += size;
    }
    this.isInt = true;
    this.pos = q;
    return major === 1 ? -1 - n : n;
  }

  private bad(msg: string): BatchFormatError {
    return new BatchFormatError(`invalid frame: ${this.what} ${msg}`);
  }
}
