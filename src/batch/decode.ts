/**
 * Frame → records, with strict validation: anything but a well-formed version-1 frame within the
 * limits is a BatchFormatError saying what is wrong. Never throws anything else for bad input.
 */
import { Decoder, Tag } from "cbor-x";
import { crc32 } from "../foundation/crc32.ts";
import {
  BatchFormatError,
  type BatchRecord,
  CRC_ITEM_BYTES,
  F,
  FRAME_FIELDS,
  FRAME_VERSION,
  LIMITS,
  MAX_SCALE,
  SCALE_FLOAT,
  TAG,
} from "./format.ts";
import { SeqReader } from "./seq.ts";
import { scanItem } from "./wellformed.ts";

export interface DecodeOptions {
  /** Largest frame accepted, in bytes. Default 16 MiB. */
  maxFrameBytes?: number;
}

const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;
/** Date's range: timestamps outside it cannot be rendered. */
const MAX_MS = 8.64e15;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** Records of one frame (exactly one CBOR item, nothing after it). */
export function decodeFrame(bytes: Uint8Array, opts: DecodeOptions = {}): BatchRecord[] {
  const end = frameEnd(bytes, 0, opts);
  if (end !== bytes.length)
    throw new BatchFormatError(`${bytes.length - end} trailing bytes after the frame (at byte ${end})`);
  return frameRecords(bytes, opts);
}

/** Records of a CBOR sequence of frames (RFC 8742), e.g. frames appended to a file. */
export function decodeFrames(bytes: Uint8Array, opts: DecodeOptions = {}): BatchRecord[][] {
  const out: BatchRecord[][] = [];
  let pos = 0;
  while (pos < bytes.length) {
    try {
      const end = frameEnd(bytes, pos, opts);
      out.push(frameRecords(bytes.subarray(pos, end), opts));
      pos = end;
    } catch (e) {
      if (!(e instanceof BatchFormatError)) throw e;
      throw new BatchFormatError(`frame ${out.length + 1} (byte ${pos}): ${e.message}`);
    }
  }
  return out;
}

function frameEnd(bytes: Uint8Array, pos: number, opts: DecodeOptions): number {
  if (!(bytes instanceof Uint8Array)) throw new BatchFormatError("a frame must be bytes (a Uint8Array)");
  const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME;
  if (pos < bytes.length && bytes[pos]! >> 5 !== 4)
    throw new BatchFormatError(
      `not a batch frame: a frame is a CBOR array, first byte is 0x${bytes[pos]!.toString(16)}`,
    );
  const end = scanItem(bytes, pos);
  if (end - pos > max)
    throw new BatchFormatError(`frame of ${end - pos} bytes exceeds the ${max}-byte limit`);
  return end;
}

function frameRecords(bytes: Uint8Array, opts: DecodeOptions): BatchRecord[] {
  const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME;
  if (bytes.length > max)
    throw new BatchFormatError(`frame of ${bytes.length} bytes exceeds the ${max}-byte limit`);
  scanItem(bytes, 0);
  let frame: unknown;
  try {
    // A fresh decoder per frame: no state (shared structures) carries over from other input.
    frame = new Decoder({ useRecords: false, mapsAsObjects: false }).decode(bytes);
  } catch (e) {
    throw new BatchFormatError(`not a CBOR frame: ${(e as Error).message}`);
  }
  return records(frame, bytes);
}

function records(frame: unknown, bytes: Uint8Array): BatchRecord[] {
  if (!Array.isArray(frame) || frame.length === 0) throw bad("a frame is a CBOR array");
  const version = frame[F.version];
  if (version !== FRAME_VERSION)
    throw bad(`unsupported frame version ${String(version)} (this ledge reads version ${FRAME_VERSION})`);
  if (frame.length !== FRAME_FIELDS)
    throw bad(`a version ${FRAME_VERSION} frame has ${FRAME_FIELDS} fields, got ${frame.length}`);
  checkCrc(frame[F.crc], bytes);
  const entities = names(frame[F.entities], "entities");
  const types = names(frame[F.types], "types");
  const series = names(frame[F.series], "series");
  const channels = channelTable(sequence(frame[F.channels], "channels"), [entities, types, series]);
  const nch = channels.length / 4;
  const count = frame[F.count];
  if (!Number.isInteger(count) || count < 0) throw bad("count must be a non-negative integer");
  const ch = frame[F.ch];
  if (!(ch instanceof Uint8Array || ch instanceof Uint16Array) || ch instanceof Uint8ClampedArray)
    throw bad("ch must be a byte string or a uint16 typed array");
  if (ch.length !== count) throw bad(`ch has ${ch.length} entries, count says ${count}`);
  const times = new SeqReader(sequence(frame[F.times], "times"), "times");
  const values = new SeqReader(sequence(frame[F.values], "values"), "values");
  const prev = new Float64Array(nch);
  const out = new Array<BatchRecord>(count);
  let t = 0;
  for (let i = 0; i < count; i++) {
    const c = ch[i]!;
    if (c >= nch) throw bad(`record ${i} refers to missing channel ${c}`);
    const item = times.next();
    t = times.isInt ? t + item : item;
    if (!(Math.abs(t) <= MAX_MS)) throw bad(`timestamp of record ${i} is out of range`);
    const scale = channels[4 * c + 3] as number;
    const v = values.next();
    let value: number;
    if (scale === SCALE_FLOAT) {
      if (values.isInt) throw bad(`record ${i}: channel ${c} holds floats, got an integer`);
      value = v;
    } else {
      if (!values.isInt) throw bad(`record ${i}: channel ${c} holds scaled integers, got a float`);
      const m = prev[c]! + v;
      if (!Number.isSafeInteger(m)) throw bad(`record ${i}: scaled value beyond 2^53`);
      prev[c] = m;
      value = m / POW10[scale]!;
    }
    out[i] = {
      entity: entities[channels[4 * c]!]!,
      type: types[channels[4 * c + 1]!]!,
      series: series[channels[4 * c + 2]!]!,
      value,
      tsMs: t,
    };
  }
  if (!times.done) throw bad("times has more items than count");
  if (!values.done) throw bad("values has more items than count");
  return out;
}

/** (entity, type, series, scale) quadruples, each index checked against its table. */
function channelTable(bytes: Uint8Array, tables: string[][]): number[] {
  const r = new SeqReader(bytes, "channels");
  const out: number[] = [];
  while (!r.done) {
    const v = r.next();
    const field = out.length % 4;
    const ch = out.length >> 2;
    if (!r.isInt) throw bad(`channel ${ch} has a float`);
    if (field === 3) {
      if (v < SCALE_FLOAT || v > MAX_SCALE)
        throw bad(`channel ${ch} has scale ${v}, not an integer from ${SCALE_FLOAT} to ${MAX_SCALE}`);
    } else if (v < 0 || v >= tables[field]!.length)
      throw bad(`channel ${ch} refers to a missing ${["entity", "type", "series"][field]}`);
    out.push(v);
    if (out.length > LIMITS.channels * 4) throw bad(`more than ${LIMITS.channels} channels`);
  }
  if (out.length % 4 !== 0) throw bad("channels must be (entity, type, series, scale) quadruples");
  return out;
}

/** The last item is a 5-byte uint: the CRC-32 of every byte before it. */
function checkCrc(crc: unknown, bytes: Uint8Array): void {
  const end = bytes.length - CRC_ITEM_BYTES;
  if (typeof crc !== "number" || end < 0 || bytes[end] !== 0x1a)
    throw bad("the last field must be the CRC-32, a 4-byte unsigned integer");
  const actual = crc32(bytes.subarray(0, end));
  if (actual !== crc)
    throw bad(
      `checksum mismatch (CRC-32 ${actual.toString(16).padStart(8, "0")}, frame says ${crc.toString(16).padStart(8, "0")}): corrupt frame`,
    );
}

function names(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) throw bad(`${what} must be an array of strings`);
  if (v.length > LIMITS.names) throw bad(`${v.length} ${what} exceed the limit of ${LIMITS.names}`);
  for (const s of v) {
    if (typeof s !== "string") throw bad(`${what} must be an array of strings`);
    if (s.length > LIMITS.nameLength) throw bad(`a name in ${what} is longer than ${LIMITS.nameLength}`);
  }
  return v;
}

function sequence(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Tag) || v.tag !== TAG.sequence || !(v.value instanceof Uint8Array))
    throw bad(`${what} must be an encoded CBOR sequence (tag ${TAG.sequence} on a byte string)`);
  return v.value;
}

function bad(msg: string): BatchFormatError {
  return new BatchFormatError(`invalid frame: ${msg}`);
}
