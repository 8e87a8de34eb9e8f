/**
 * Interning of entity, type and series names and of (entity, type, series) channels, so a record is a
 * few numbers. Ids are persistent across frames (no map insertions in steady state); each frame
 * remaps the ids it uses to dense frame-local indexes with generation stamps (no clearing).
 */
import { LIMITS } from "./format.ts";
import { SeqWriter } from "./seq.ts";

const NAME_BITS = 10;
/** Worst-case bytes of one channel entry: four integers below 65536. */
const CHANNEL_ENTRY_MAX = 12;

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** CBOR head size for a length or small unsigned integer. */
export function headBytes(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

class Names {
  constructor(private readonly reserved: readonly string[] = []) {}
  readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  /** Encoded size of each name as a CBOR text string. */
  readonly sizes = new Int32Array(LIMITS.names);
  readonly stamp = new Int32Array(LIMITS.names);
  readonly local = new Int32Array(LIMITS.names);
  /** Persistent ids used by the current frame, in frame-local order. */
  readonly used = new Int32Array(LIMITS.names);
  usedCount = 0;

  /** Id of `name`, or -1 when the table is full. */
  intern(name: string): number {
    const id = this.ids.get(name);
    if (id !== undefined) return id;
    if (this.names.length >= LIMITS.names) return -1;
    if (name.length > LIMITS.nameLength)
      throw new RangeError(`batch: name longer than ${LIMITS.nameLength} characters`);
    if (this.reserved.includes(name)) throw new RangeError(`batch: series name '${name}' is reserved`);
    const n = this.names.length;
    const bytes = utf8Length(name);
    this.ids.set(name, n);
    this.names.push(name);
    this.sizes[n] = bytes + headBytes(bytes);
    return n;
  }

  /** Frame-local index of `id`; adds its table bytes to `t.bytes` on first use in frame `gen`. */
  localOf(id: number, gen: number, t: Tables): number {
    if (this.stamp[id] === gen) return this.local[id]!;
    const l = this.usedCount++;
    this.stamp[id] = gen;
    this.local[id] = l;
    this.used[l] = id;
    t.bytes += this.sizes[id]!;
    return l;
  }

  private readonly frame: string[] = [];

  /** The current frame's names, in a reused array (valid until the next call). */
  frameNames(): string[] {
    const out = this.frame;
    out.length = this.usedCount;
    for (let i = 0; i < this.usedCount; i++) out[i] = this.names[this.used[i]!]!;
    return out;
  }

  clear(): void {
    this.ids.clear();
    this.names.length = 0;
    this.stamp.fill(0);
  }
}

/** Per-batcher interning state. `bytes` tracks the encoded size of the current frame's tables. */
export class Tables {
  readonly entities = new Names();
  readonly types = new Names();
  /** `time` and `type` are payload fields in Thin Edge JSON, not series. */
  readonly series = new Names(["time", "type"]);
  /** (entity << 20 | type << 10 | series) → persistent channel id; keys stay small integers. */
  readonly channelIds = new Map<number, number>();
  channelCount = 0;
  readonly chEntity = new Int32Array(LIMITS.channels);
  readonly chType = new Int32Array(LIMITS.channels);
  readonly chSeries = new Int32Array(LIMITS.channels);
  readonly chStamp = new Int32Array(LIMITS.channels);
  readonly chLocal = new Int32Array(LIMITS.channels);
  readonly chEntityName: string[] = [];
  readonly chTypeName: string[] = [];
  readonly chSeriesName: string[] = [];
  /** The channel that followed each channel last time, or -1. */
  readonly successor = new Int32Array(LIMITS.channels);
  private predicted = -1;
  private last = -1;
  /** Persistent channel ids used by the current frame, in frame-local order. */
  readonly chUsed = new Int32Array(LIMITS.channels);
  chUsedCount = 0;
  gen = 1;
  bytes = 0;

  /**
   * Persistent channel id, or -1 when a table is full (the caller flushes and calls reset()).
   * Streams repeat their order (a driver polls its registers in turn, a measurement's keys come in
   * the same order), so the channel that followed the previous one last time is tried first: three
   * string comparisons instead of four map lookups.
   */
  channel(entity: string, type: string, series: string): number {
    const p = this.predicted;
    if (
      p >= 0 &&
      this.chSeriesName[p] === series &&
      this.chEntityName[p] === entity &&
      this.chTypeName[p] === type
    ) {
      this.predicted = this.successor[p]!;
      this.last = p;
      return p;
    }
    const c = this.lookup(entity, type, series);
    if (c >= 0) {
      if (this.last >= 0) this.successor[this.last] = c;
      this.predicted = this.successor[c]!;
      this.last = c;
    }
    return c;
  }

  private lookup(entity: string, type: string, series: string): number {
    const e = this.entities.intern(entity);
    const t = this.types.intern(type);
    const s = this.series.intern(series);
    if (e < 0 || t < 0 || s < 0) return -1;
    const key = (e << (2 * NAME_BITS)) | (t << NAME_BITS) | s;
    const id = this.channelIds.get(key);
    if (id !== undefined) return id;
    if (this.channelCount >= LIMITS.channels) return -1;
    const c = this.channelCount++;
    this.channelIds.set(key, c);
    this.chEntity[c] = e;
    this.chType[c] = t;
    this.chSeries[c] = s;
    this.chEntityName[c] = entity;
    this.chTypeName[c] = type;
    this.chSeriesName[c] = series;
    this.successor[c] = -1;
    return c;
  }

  /** Table bytes that `localChannel(c)` would add to the current frame. */
  costOf(c: number): number {
    if (this.chStamp[c] === this.gen) return 0;
    const e = this.chEntity[c]!;
    const t = this.chType[c]!;
    const s = this.chSeries[c]!;
    let b = CHANNEL_ENTRY_MAX;
    if (this.entities.stamp[e] !== this.gen) b += this.entities.sizes[e]!;
    if (this.types.stamp[t] !== this.gen) b += this.types.sizes[t]!;
    if (this.series.stamp[s] !== this.gen) b += this.series.sizes[s]!;
    return b;
  }

  /** Frame-local index of channel `c`, registering its names in the frame tables on first use. */
  localChannel(c: number): number {
    if (this.chStamp[c] === this.gen) return this.chLocal[c]!;
    const l = this.chUsedCount++;
    this.chStamp[c] = this.gen;
    this.chLocal[c] = l;
    this.chUsed[l] = c;
    this.entities.localOf(this.chEntity[c]!, this.gen, this);
    this.types.localOf(this.chType[c]!, this.gen, this);
    this.series.localOf(this.chSeries[c]!, this.gen, this);
    this.bytes += CHANNEL_ENTRY_MAX;
    return l;
  }

  private channelSeq = new SeqWriter(1024);

  /**
   * The frame's channels as a CBOR sequence of (entity, type, series, scale) integer quadruples,
   * written by hand into a reused buffer (valid until the next call).
   */
  frameChannels(scale: Int8Array): Uint8Array {
    const need = this.chUsedCount * CHANNEL_ENTRY_MAX;
    if (this.channelSeq.bytes.length < need) this.channelSeq = new SeqWriter(need * 2);
    const w = this.channelSeq;
    w.pos = 0;
    for (let i = 0; i < this.chUsedCount; i++) {
      const c = this.chUsed[i]!;
      w.int(this.entities.local[this.chEntity[c]!]!);
      w.int(this.types.local[this.chType[c]!]!);
      w.int(this.series.local[this.chSeries[c]!]!);
      w.int(scale[i]!);
    }
    return w.bytes.subarray(0, w.pos);
  }

  /** Starts a new frame: frame-local tables empty, persistent ids kept. */
  nextFrame(): void {
    this.gen++;
    this.chUsedCount = 0;
    this.entities.usedCount = 0;
    this.types.usedCount = 0;
    this.series.usedCount = 0;
    this.bytes = 0;
  }

  /** Forgets every persistent id (tables full, or names churned); only between frames. */
  reset(): void {
    this.entities.clear();
    this.types.clear();
    this.series.clear();
    this.channelIds.clear();
    this.channelCount = 0;
    this.chEntityName.length = 0;
    this.chTypeName.length = 0;
    this.chSeriesName.length = 0;
    this.predicted = -1;
    this.last = -1;
    this.chStamp.fill(0);
    this.nextFrame();
  }
}
