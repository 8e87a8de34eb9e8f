/**
 * Declarative binary frames (`[device.frame]` in serial.toml): fixed length, start bytes, optional
 * end bytes and a checksum; fields at byte offsets. Frames are found by their start bytes, never
 * by line ends (an SDS011 frame contains 0x0A). A candidate whose end bytes or checksum do not
 * match is reported and the search resumes one byte after its start, so a false start inside
 * garbage never swallows the real frame that follows.
 */
import { crc16 } from "../../common/crc16.ts";
import type { FrameEvent } from "./frame-event.ts";

export const CHECKSUM_KINDS = ["none", "sum8", "xor8", "crc16_modbus"] as const;
export type ChecksumKind = (typeof CHECKSUM_KINDS)[number];

export const FIELD_TYPES = [
  "uint8",
  "int8",
  "uint16le",
  "uint16be",
  "int16le",
  "int16be",
  "uint32le",
  "uint32be",
  "int32le",
  "int32be",
  "float32le",
  "float32be",
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldSpec {
  /** Series name, or `group.series`. */
  name: string;
  offset: number;
  type: FieldType;
  scale: number;
}

export interface FrameSpec {
  start: number[];
  /** Whole frame, start and end bytes included. */
  length: number;
  end: number[];
  /** Bytes `from`..`to` (inclusive) are summed; the result sits at `at` (CRC-16: 2 bytes, LE). */
  checksum: { kind: ChecksumKind; from: number; to: number; at: number };
  fields: FieldSpec[];
}

export function fieldWidth(t: FieldType): number {
  if (t.endsWith("8")) return 1;
  return t.includes("16") ? 2 : 4;
}

/** The Nova Fitness SDS011 particulate sensor's 10-byte data frame (PM2.5, PM10 in µg/m³). */
export const SDS011: FrameSpec = {
  start: [0xaa, 0xc0],
  length: 10,
  end: [0xab],
  checksum: { kind: "sum8", from: 2, to: 7, at: 8 },
  fields: [
    { name: "pm25", offset: 2, type: "uint16le", scale: 0.1 },
    { name: "pm10", offset: 4, type: "uint16le", scale: 0.1 },
  ],
};

/** Why a frame description cannot work, or undefined. */
export function checkSpec(s: FrameSpec): string | undefined {
  if (s.start.length === 0) return "a frame needs at least one start byte";
  if (s.length < s.start.length + s.end.length) return "'length' is shorter than the start and end bytes";
  const c = s.checksum;
  if (c.kind !== "none") {
    const width = c.kind === "crc16_modbus" ? 2 : 1;
    if (c.from > c.to || c.to >= s.length) return "checksum range lies outside the frame";
    if (c.at + width > s.length) return "checksum position lies outside the frame";
  }
  for (const f of s.fields)
    if (f.offset + fieldWidth(f.type) > s.length) return `field '${f.name}' lies outside the frame`;
  return undefined;
}

function checksumOk(frame: Buffer, c: FrameSpec["checksum"]): boolean {
  switch (c.kind) {
    case "none":
      return true;
    case "sum8": {
      let x = 0;
      for (let i = c.from; i <= c.to; i++) x = (x + (frame[i] ?? 0)) & 0xff;
      return frame[c.at] === x;
    }
    case "xor8": {
      let x = 0;
      for (let i = c.from; i <= c.to; i++) x ^= frame[i] ?? 0;
      return frame[c.at] === x;
    }
    case "crc16_modbus":
      return frame.readUInt16LE(c.at) === crc16(frame, c.from, c.to + 1);
  }
}

/** The number a field holds, scaled. */
export function readField(frame: Buffer, f: FieldSpec): number {
  const o = f.offset;
  const raw = (() => {
    switch (f.type) {
      case "uint8":
        return frame.readUInt8(o);
      case "int8":
        return frame.readInt8(o);
      case "uint16le":
        return frame.readUInt16LE(o);
      case "uint16be":
        return frame.readUInt16BE(o);
      case "int16le":
        return frame.readInt16LE(o);
      case "int16be":
        return frame.readInt16BE(o);
      case "uint32le":
        return frame.readUInt32LE(o);
      case "uint32be":
        return frame.readUInt32BE(o);
      case "int32le":
        return frame.readInt32LE(o);
      case "int32be":
        return frame.readInt32BE(o);
      case "float32le":
        return frame.readFloatLE(o);
      case "float32be":
        return frame.readFloatBE(o);
    }
  })();
  // scaling by a decimal fraction (0.1) must give 12.3, not 12.299999999999999
  return f.scale === 1 ? raw : Number((raw * f.scale).toPrecision(12));
}

const hex = (b: Buffer) => b.toString("hex").replace(/(..)(?!$)/g, "$1 ");

export class BinaryFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes dropped while looking for a start, reported once a frame (or a bad one) is found. */
  private skipped = 0;
  /** Bytes of a rejected candidate are reported with it, not again as skipped. */
  private quietUntil = 0;

  constructor(private readonly spec: FrameSpec) {}

  push(chunk: Buffer, emit: (e: FrameEvent) => void): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const { start, length, end } = this.spec;
    let i = 0;
    while (i + start.length <= this.buf.length) {
      if (!start.every((b, k) => this.buf[i + k] === b)) {
        if (i >= this.quietUntil) this.skipped++;
        i++;
        continue;
      }
      if (i + length > this.buf.length) break;
      const frame = this.buf.subarray(i, i + length);
      const endOk = end.every((b, k) => frame[length - end.length + k] === b);
      const sumOk = endOk && checksumOk(frame, this.spec.checksum);
      if (this.skipped > 0) {
        emit({ bad: `${this.skipped} byte(s) outside a frame`, raw: "" });
        this.skipped = 0;
      }
      if (!sumOk) {
        emit({ bad: endOk ? "frame checksum mismatch" : "frame end bytes missing", raw: hex(frame) });
        this.quietUntil = i + length;
        i++;
        continue;
      }
      emit({ bytes: Buffer.from(frame) });
      i += length;
    }
    // keep what may still become a frame; bytes before it are counted as skipped
    this.buf = Buffer.from(this.buf.subarray(i));
    this.quietUntil = Math.max(0, this.quietUntil - i);
  }
}
