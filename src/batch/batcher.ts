/**
 * The batching core: pure (no I/O, no timers, the clock is an argument). Records go into preallocated
 * typed arrays; a flush packs them into one CBOR frame written by cbor-x into a pooled buffer.
 */
import { Encoder, Tag } from "cbor-x";
import type { Measurement } from "../api/payloads.ts";
import { crc32 } from "../foundation/crc32.ts";
import { Columns } from "./columns.ts";
import { CRC_ITEM_BYTES, F, FRAME_FIELDS, FRAME_VERSION, LIMITS, TAG } from "./format.ts";
import { Tables } from "./tables.ts";

export interface BatcherOptions {
  /** Upper bound of a frame's encoded size in bytes (a frame never exceeds it). Default 65536. */
  maxBytes?: number;
  /** Records per frame. Default 1000. */
  maxCount?: number;
  /** Flush when the oldest record of the frame was appended this long ago. Default 10000. */
  maxAgeMs?: number;
}

/** Worst-case encoded bytes of one record: uint16 channel + double timestamp + double value. */
const RECORD_MAX_BYTES = 20;
/** Worst-case frame bytes outside names, channels and records (heads, version, count, tags, CRC). */
const FRAME_OVERHEAD = 64;
/** Encodes as 0x1a + 4 bytes, the CRC item's fixed size, until the real CRC is patched in. */
const CRC_PLACEHOLDER = 0xffffffff;
/** cbor-x refuses to start encoding within 2 KiB of a buffer's end. */
const MIN_BUFFER = 4096;
const EMPTY: readonly Uint8Array[] = Object.freeze([]);
/** Handing this to cbor-x detaches our pooled buffer (cbor-x allocates its own on its next use). */
const DETACHED = new Uint8Array(0);

export class Batcher {
  readonly maxBytes: number;
  readonly maxCount: number;
  readonly maxAgeMs: number;
  private readonly tables = new Tables();
  private readonly cols: Columns;
  // useBuffer() exists in cbor-x's Encoder but is missing from its typings.
  private readonly encoder = new Encoder({
    useRecords: false,
    tagUint8Array: false,
    pack: false,
  }) as Encoder & {
    useBuffer(buffer: Uint8Array): void;
  };
  /** [0]: `now` of the frame's first append (typed storage: no boxing of doubles). */
  private readonly clock = new Float64Array(1);
  /** value, tsMs, now of the record going through appendSlow (typed storage: no boxing). */
  private readonly stage = new Float64Array(3);
  private n = 0;
  /** Records below this index take the fast path (their frame cannot outgrow maxBytes). */
  private fastLimit = 0;
  private readonly frame: unknown[] = new Array(FRAME_FIELDS).fill(0);
  private readonly channelsTag = new Tag(DETACHED, TAG.sequence);
  private readonly timesTag = new Tag(DETACHED, TAG.sequence);
  private readonly valuesTag = new Tag(DETACHED, TAG.sequence);
  private readonly groupNames = new Map<string, Map<string, string>>();
  private readonly free: Uint8Array[] = [];
  /** Buffers of frames handed out, by their ArrayBuffer, until released. */
  private readonly lent = new Map<ArrayBufferLike, Uint8Array>();

  constructor(opts: BatcherOptions = {}) {
    this.maxBytes = positive("maxBytes", opts.maxBytes ?? 65536);
    this.maxCount = positive("maxCount", opts.maxCount ?? 1000);
    this.maxAgeMs = nonNegative("maxAgeMs", opts.maxAgeMs ?? 10000);
    if (this.maxBytes < FRAME_OVERHEAD + RECORD_MAX_BYTES + 64)
      throw new RangeError(`batch: maxBytes must be at least ${FRAME_OVERHEAD + RECORD_MAX_BYTES + 64}`);
    const byBytes = Math.floor((this.maxBytes - FRAME_OVERHEAD) / 3);
    this.cols = new Columns(Math.max(1, Math.min(this.maxCount, byBytes)));
  }

  /** Records in the current (unflushed) frame. */
  get count(): number {
    return this.n;
  }

  /**
   * Adds one reading. Returns a frame when this append completed one (by count or age, including this
   * record) or had to close the previous one first (size, full name tables); else undefined.
   * Throws RangeError for a non-finite timestamp or a name over 4096 characters.
   */
  append(
    entity: string,
    type: string,
    series: string,
    value: number,
    tsMs: number,
    now: number,
  ): Uint8Array | undefined {
    // The fast path: a channel already in this frame, no size or table limit near. It stores the
    // doubles straight into typed arrays and calls nothing that takes a double, so once inlined into
    // a hot caller it allocates nothing (V8 boxes doubles passed to calls it does not inline).
    const t = this.tables;
    const c = t.channel(entity, type, series);
    const i = this.n;
    if (c < 0 || i >= this.fastLimit || t.chStamp[c] !== t.gen || !Number.isFinite(tsMs)) {
      // The slow path takes the doubles through typed storage too: no boxing on any path.
      const st = this.stage;
      st[0] = value;
      st[1] = tsMs;
      st[2] = now;
      return this.appendSlow(c, entity, type, series);
    }
    const cols = this.cols;
    cols.ch[i] = t.chLocal[c]!;
    cols.values[i] = value;
    cols.ts[i] = tsMs;
    this.n = i + 1;
    if (this.n >= cols.capacity || now - this.clock[0]! >= this.maxAgeMs) return this.flush();
    return undefined;
  }

  private appendSlow(channel: number, entity: string, type: string, series: string): Uint8Array | undefined {
    const st = this.stage;
    const tsMs = st[1]!;
    const now = st[2]!;
    if (!Number.isFinite(tsMs)) throw new RangeError(`batch: timestamp ${tsMs} is not finite`);
    const t = this.tables;
    let c = channel;
    let frame: Uint8Array | undefined;
    if (c < 0) {
      frame = this.flush();
      t.reset();
      c = t.channel(entity, type, series);
    } else if (this.n > 0 && this.overflows(c)) frame = this.flush();
    const i = this.n++;
    const cols = this.cols;
    cols.ch[i] = t.localChannel(c);
    cols.values[i] = st[0]!;
    cols.ts[i] = tsMs;
    if (i === 0) this.clock[0] = now;
    this.fastLimit = Math.floor((this.maxBytes - FRAME_OVERHEAD - t.bytes) / RECORD_MAX_BYTES);
    // At most one frame per call: after a closing flush above the frame holds this one record, which
    // flushes again only with maxCount 1 or maxAgeMs 0, and with those no record waits between calls.
    if (this.n >= cols.capacity || now - this.clock[0]! >= this.maxAgeMs) return this.flush();
    return frame;
  }

  /** Whether one more record on channel `c` could push the frame past maxBytes. */
  private overflows(c: number): boolean {
    const t = this.tables;
    return FRAME_OVERHEAD + t.bytes + t.costOf(c) + (this.n + 1) * RECORD_MAX_BYTES > this.maxBytes;
  }

  /**
   * Adds every value of a validated Thin Edge JSON measurement: a top-level number is series `name`,
   * a group member is `group.name`. `type` is the topic's type (a payload `type` wins); the time is the
   * payload's, or `now`. Returns the frames completed meanwhile (usually none: a shared empty array).
   */
  appendMeasurement(entity: string, type: string, m: Measurement, now: number): readonly Uint8Array[] {
    const ts = m.time === undefined ? now : parseIsoMs(m.time);
    const mtype = m.type ?? type;
    let out: Uint8Array[] | undefined;
    for (const key in m.values) {
      const v = m.values[key]!;
      if (typeof v === "number") {
        const f = this.append(entity, mtype, key, v, ts, now);
        if (f) out = push(out, f);
      } else {
        for (const sub in v) {
          const f = this.append(entity, mtype, this.groupSeries(key, sub), v[sub]!, ts, now);
          if (f) out = push(out, f);
        }
      }
    }
    return out ?? EMPTY;
  }

  /** `group.name`, built once per pair rather than per reading. */
  private groupSeries(group: string, name: string): string {
    let names = this.groupNames.get(group);
    if (!names) {
      if (this.groupNames.size >= LIMITS.names) this.groupNames.clear(); // names churn: stay bounded
      names = new Map();
      this.groupNames.set(group, names);
    }
    let series = names.get(name);
    if (series === undefined) {
      series = `${group}.${name}`;
      if (names.size < LIMITS.names) names.set(name, series);
    }
    return series;
  }

  /** The frame due by age at `now`, if any. */
  poll(now: number): Uint8Array | undefined {
    if (this.n > 0 && now - this.clock[0]! >= this.maxAgeMs) return this.flush();
    return undefined;
  }

  /** When the current frame becomes due by age (same clock as `now`); undefined when empty. */
  nextDeadline(): number | undefined {
    return this.n > 0 ? this.clock[0]! + this.maxAgeMs : undefined;
  }

  /** Closes the current frame now (e.g. at shutdown); undefined when empty. */
  flush(): Uint8Array | undefined {
    const n = this.n;
    if (n === 0) return undefined;
    const t = this.tables;
    const cols = this.cols;
    const nch = t.chUsedCount;
    // The frame array, its tables and tags are reused: a steady stream rewrites them in place.
    const values = cols.packValues(n, nch); // also sets each channel's scale for the table
    const frame = this.frame;
    frame[F.version] = FRAME_VERSION;
    frame[F.entities] = t.entities.frameNames();
    frame[F.types] = t.types.frameNames();
    frame[F.series] = t.series.frameNames();
    this.channelsTag.value = t.frameChannels(cols.scale);
    frame[F.channels] = this.channelsTag;
    frame[F.count] = n;
    frame[F.ch] = cols.packChannels(n, nch);
    this.timesTag.value = cols.packTimes(n);
    this.valuesTag.value = values;
    frame[F.times] = this.timesTag;
    frame[F.values] = this.valuesTag;
    frame[F.crc] = CRC_PLACEHOLDER;
    this.n = 0;
    this.fastLimit = 0;
    t.nextFrame();
    return this.encode(frame);
  }

  /**
   * Gives a frame's buffer back for reuse. Call it once the socket and the disk queue are both done
   * with the frame; never touch the frame afterwards. Frames never released are simply garbage
   * collected (the pool allocates a new buffer), so forgetting is safe, only not allocation-free.
   */
  release(frame: Uint8Array): void {
    const buf = this.lent.get(frame.buffer);
    if (!buf) return; // not ours, or released twice
    this.lent.delete(frame.buffer);
    if (this.free.length < 8) this.free.push(buf);
  }

  private encode(value: unknown[]): Uint8Array {
    const buf = this.free.pop() ?? allocate(Math.max(MIN_BUFFER, this.maxBytes + 256));
    // cbor-x's write target is module-wide: point it at our buffer for this call only.
    this.encoder.useBuffer(buf);
    let out: Uint8Array;
    try {
      out = this.encoder.encode(value) as Uint8Array;
    } finally {
      this.encoder.useBuffer(DETACHED);
    }
    // The CRC covers every byte before its own item, patched in place (big-endian, as CBOR is).
    const end = out.length - CRC_ITEM_BYTES;
    const crc = crc32(out.subarray(0, end));
    out[end + 1] = crc >>> 24;
    out[end + 2] = (crc >>> 16) & 0xff;
    out[end + 3] = (crc >>> 8) & 0xff;
    out[end + 4] = crc & 0xff;
    // If cbor-x outgrew our buffer (it cannot, frames stay under maxBytes), pool its own instead.
    this.lent.set(out.buffer, out.buffer === buf.buffer ? buf : wrap(out.buffer));
    return out;
  }
}

function push(out: Uint8Array[] | undefined, f: Uint8Array): Uint8Array[] {
  if (!out) return [f];
  out.push(f);
  return out;
}

// cbor-x writes long strings with Buffer#utf8Write when Buffer exists (Node and Bun): pool Buffers then.
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
function allocate(size: number): Uint8Array {
  return NodeBuffer ? NodeBuffer.allocUnsafeSlow(size) : new Uint8Array(size);
}
function wrap(buf: ArrayBufferLike): Uint8Array {
  return NodeBuffer ? NodeBuffer.from(buf as ArrayBuffer) : new Uint8Array(buf);
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`batch: ${name} must be a positive integer`);
  return v;
}

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`batch: ${name} must be >= 0`);
  return v;
}

/** ISO 8601 → ms; digits beyond milliseconds are dropped (Date.parse does not take them everywhere). */
export function parseIsoMs(iso: string): number {
  let ms = Date.parse(iso);
  if (Number.isNaN(ms)) ms = Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
  if (Number.isNaN(ms)) throw new RangeError(`batch: time '${iso}' is not ISO 8601`);
  return ms;
}
