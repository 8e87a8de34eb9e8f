/**
 * Frame → records, with strict validation: anything but a well-formed version-1 frame within the
 * limits is a BatchFormatError saying what is wrong. Never throws anything else for bad input.
 */
import { Decoder } from "cbor-x";
import {
  BatchFormatError,
  type BatchRecord,
  F,
  FRAME_FIELDS,
  FRAME_VERSION,
  LIMITS,
  MAX_SCALE,
  SCALE_FLOAT,
} from "./format.ts";
import { scanItem } from "./wellformed.ts";

export interface DecodeOptions {
  /** Largest frame accepted, in bytes. Default 16 MiB. */
  maxFrameBytes?: number;
}

const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;
/** Date's range: timestamps outside it cannot be rendered. */
const MAX_MS = 8.64e15;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

type Column = ArrayLike<number>;

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
  return records(frame);
}

function records(frame: unknown): BatchRecord[] {
  if (!Array.isArray(frame) || frame.length === 0) throw bad("a frame is a CBOR array");
  const version = frame[F.version];
  if (version !== FRAME_VERSION)
    throw bad(`unsupported frame version ${String(version)} (this ledge reads version ${FRAME_VERSION})`);
  if (frame.length !== FRAME_FIELDS)
    throw bad(`a version ${FRAME_VERSION} frame has ${FRAME_FIELDS} fields, got ${frame.length}`);
  const entities = names(frame[F.entities], "entities");
  const types = names(frame[F.types], "types");
  const series = names(frame[F.series], "series");
  const channels = frame[F.channels] as unknown;
  if (!Array.isArray(channels) || channels.length % 3 !== 0)
    throw bad("channels must be an array of triples");
  const nch = channels.length / 3;
  if (nch > LIMITS.channels) throw bad(`${nch} channels exceed the limit of ${LIMITS.channels}`);
  const tables = [entities, types, series];
  for (let i = 0; i < channels.length; i++) {
    const v = channels[i];
    if (!Number.isInteger(v) || v < 0 || v >= tables[i % 3]!.length)
      throw bad(`channel ${Math.floor(i / 3)} refers to a missing ${["entity", "type", "series"][i % 3]}`);
  }
  const count = frame[F.count];
  if (!Number.isInteger(count) || count < 0) throw bad("count must be a non-negative integer");
  const ch = column(frame[F.ch], count, "ch", [Uint8Array, Uint16Array]);
  const t0 = frame[F.t0];
  if (typeof t0 !== "number" || !(Math.abs(t0) <= MAX_MS)) throw bad("t0 must be a timestamp in ms");
  const dt = column(frame[F.dt], count, "dt", [Int8Array, Int16Array, Int32Array, Float64Array]);
  const scale = frame[F.scale];
  if (!Number.isInteger(scale) || scale < SCALE_FLOAT || scale > MAX_SCALE)
    throw bad(`scale must be an integer from ${SCALE_FLOAT} to ${MAX_SCALE}`);
  const values = column(
    frame[F.values],
    count,
    "values",
    scale === SCALE_FLOAT ? [Float32Array, Float64Array] : [Int8Array, Int16Array, Int32Array],
  );
  const absolute = dt instanceof Float64Array;
  if (count > 0 && dt[0] !== (absolute ? t0 : 0))
    throw bad(absolute ? "first timestamp differs from t0" : "first timestamp delta must be 0");
  const p = scale === SCALE_FLOAT ? 1 : POW10[scale]!;
  const out = new Array<BatchRecord>(count);
  let t = t0;
  for (let i = 0; i < count; i++) {
    t = absolute ? dt[i]! : t + dt[i]!;
    if (!(Math.abs(t) <= MAX_MS)) throw bad(`timestamp of record ${i} is out of range`);
    const c = ch[i]!;
    if (c >= nch) throw bad(`record ${i} refers to missing channel ${c}`);
    out[i] = {
      entity: entities[channels[3 * c]]!,
      type: types[channels[3 * c + 1]]!,
      series: series[channels[3 * c + 2]]!,
      value: scale === SCALE_FLOAT ? values[i]! : values[i]! / p,
      tsMs: t,
    };
  }
  return out;
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

type TypedCtor = { new (...args: never[]): ArrayLike<number>; name: string };

function column(v: unknown, count: number, what: string, kinds: TypedCtor[]): Column {
  // A plain byte string is a uint8 column too (tag 64 is optional for bytes).
  if (!kinds.some((k) => v instanceof k && (v.constructor === k || k === Uint8Array)))
    throw bad(`${what} must be one of ${kinds.map((k) => k.name).join(", ")}`);
  const col = v as Column;
  if (col.length !== count) throw bad(`${what} has ${col.length} entries, count says ${count}`);
  return col;
}

function bad(msg: string): BatchFormatError {
  return new BatchFormatError(`invalid frame: ${msg}`);
}
