import { ProtocolError, Reason } from "./reason-codes.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Largest Remaining Length, 4 bytes of variable byte integer ([MQTT-1.5.5], [MQTT-2.2.3]). */
export const MAX_VARINT = 268_435_455;

function malformed(what: string): ProtocolError {
  return new ProtocolError(Reason.MalformedPacket, what);
}

/**
 * Reads one packet's bytes. Every read is bounds-checked and throws a `ProtocolError`, which the
 * decoder catches: nothing escapes to the caller. `owned` says the bytes are the decoder's own
 * (binary fields may view them) rather than the caller's chunk (binary fields are copied).
 */
export class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly owned: boolean,
  ) {}

  get left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw malformed("packet ends early");
    return this.buf[this.pos++] as number;
  }

  u16(): number {
    if (this.pos + 2 > this.end) throw malformed("packet ends early");
    const v = ((this.buf[this.pos] as number) << 8) | (this.buf[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }

  u32(): number {
    if (this.pos + 4 > this.end) throw malformed("packet ends early");
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (
      (b[p] as number) * 0x1000000 +
      (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
    );
  }

  /** [MQTT-1.5.5-1] at most 4 bytes, and the minimal encoding. */
  varint(): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8();
      value += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) throw malformed("variable byte integer not minimally encoded");
        return value;
      }
      mul *= 128;
    }
    throw malformed("variable byte integer longer than 4 bytes");
  }

  /** Bytes of `n`: a view when the buffer is owned, else a copy. */
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) throw malformed("packet ends early");
    const view = this.buf.subarray(this.pos, this.pos + n);
    const out = this.owned ? view : copy(view);
    this.pos += n;
    return out;
  }

  binary(): Uint8Array {
    return this.bytes(this.u16());
  }

  /** [MQTT-1.5.4-1] well-formed UTF-8, [MQTT-1.5.4-2] no U+0000. */
  utf8(): string {
    const n = this.u16();
    if (this.pos + n > this.end) throw malformed("packet ends early");
    const s = decodeUtf8(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  let ascii = end - start <= 256;
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b === 0) throw malformed("string contains U+0000 [MQTT-1.5.4-2]");
    if (b >= 0x80) ascii = false;
  }
  if (ascii)
    // Socket chunks are Buffers: latin1 of ASCII bytes is the same text, with no view to allocate.
    return Buffer.isBuffer(buf)
      ? buf.toString("latin1", start, end)
      : String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw malformed("string is not well-formed UTF-8 [MQTT-1.5.4-1]");
  }
}

/** A copy as a plain Uint8Array (Node's `Buffer#slice` would share memory with a Buffer). */
export function copy(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** UTF-8 length of a JS string without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2;
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

export function varintLength(v: number): number {
  return v < 128 ? 1 : v < 16_384 ? 2 : v < 2_097_152 ? 3 : 4;
}

/**
 * Writes a packet in two passes over the same code: first with no buffer (counts bytes), then
 * into one buffer of exactly that size. No intermediate chunks, no concatenation.
 */
export class Writer {
  pos = 0;
  constructor(readonly buf?: Uint8Array) {}

  u8(v: number): void {
    if (this.buf) this.buf[this.pos] = v;
    this.pos += 1;
  }

  u16(v: number): void {
    if (this.buf) {
      this.buf[this.pos] = v >>> 8;
      this.buf[this.pos + 1] = v & 0xff;
    }
    this.pos += 2;
  }

  u32(v: number): void {
    if (this.buf) {
      this.buf[this.pos] = v >>> 24;
      this.buf[this.pos + 1] = (v >>> 16) & 0xff;
      this.buf[this.pos + 2] = (v >>> 8) & 0xff;
      this.buf[this.pos + 3] = v & 0xff;
    }
    this.pos += 4;
  }

  varint(v: number): void {
    if (v > MAX_VARINT || v < 0) throw new RangeError(`variable byte integer out of range: ${v}`);
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) b |= 0x80;
      this.u8(b);
    } while (v > 0);
  }

  raw(bytes: Uint8Array): void {
    if (this.buf) this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  binary(bytes: Uint8Array): void {
    if (bytes.length > 65_535) throw new RangeError("binary data longer than 65535 bytes");
    this.u16(bytes.length);
    this.raw(bytes);
  }

  utf8(s: string): void {
    if (!this.buf) {
      const n = utf8Length(s);
      if (n > 65_535) throw new RangeError("string longer than 65535 bytes");
      this.pos += 2 + n;
      return;
    }
    // ASCII (topics, almost always) is copied byte by byte: a view for encodeInto costs more.
    const buf = this.buf;
    const at = this.pos + 2;
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at + i] = c;
    }
    const written = i === s.length ? i : i + encoder.encodeInto(s.slice(i), buf.subarray(at + i)).written;
    this.u16(written);
    this.pos += written;
  }
}
