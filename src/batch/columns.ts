/**
 * Record columns in preallocated typed arrays, packed at flush:
 * - timestamps: a CBOR sequence of integer deltas from the previous record (a float item is an
 *   absolute timestamp instead: fractional milliseconds, or a gap too large to be exact);
 * - values: per channel, a decimal scale k when every value of that channel in the frame is an exact
 *   decimal with k digits (typical sensor data), then integer deltas of value × 10^k from the
 *   channel's previous value; else the channel's values are floats as they are.
 * Slowly changing readings thus cost one or two bytes each.
 */
import { LIMITS, MAX_SCALE, SCALE_FLOAT } from "./format.ts";
import { SeqWriter } from "./seq.ts";

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/** Largest scaled value: deltas between two of them stay exact doubles. */
const MAX_SCALED = 2 ** 51;

export class Columns {
  /** Frame-local channel index of each record. */
  readonly ch: Uint16Array;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  /** Decimal scale (or SCALE_FLOAT) of each frame-local channel, set by packValues(). */
  readonly scale = new Int8Array(LIMITS.channels);
  private readonly prev = new Float64Array(LIMITS.channels);
  private readonly ch8: Uint8Array;
  private readonly times: SeqWriter;
  private readonly vals: SeqWriter;

  constructor(readonly capacity: number) {
    this.ch = new Uint16Array(capacity);
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.ch8 = new Uint8Array(capacity);
    this.times = new SeqWriter(capacity * 9);
    this.vals = new SeqWriter(capacity * 9);
  }

  /** Channel column: one byte per record when the frame has at most 256 channels. */
  packChannels(n: number, channels: number): Uint8Array | Uint16Array {
    if (channels > 256) return this.ch.subarray(0, n);
    const ch = this.ch;
    const ch8 = this.ch8;
    for (let i = 0; i < n; i++) ch8[i] = ch[i]!;
    return ch8.subarray(0, n);
  }

  packTimes(n: number): Uint8Array {
    const w = this.times;
    const ts = this.ts;
    w.pos = 0;
    let prev = 0;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const d = t - prev;
      if (Number.isSafeInteger(t) && Number.isSafeInteger(d)) w.int(d);
      else w.float(t);
      prev = t;
    }
    return w.bytes.subarray(0, w.pos);
  }

  packValues(n: number, channels: number): Uint8Array {
    const scale = this.scale;
    const ch = this.ch;
    const vs = this.values;
    scale.fill(0, 0, channels);
    for (let i = 0; i < n; i++) {
      const c = ch[i]!;
      let k = scale[c]!;
      if (k < 0) continue;
      const v = vs[i]!;
      if (v === 0 && 1 / v < 0)
        k = SCALE_FLOAT; // -0 has no integer form
      else {
        while (k <= MAX_SCALE && Math.round(v * POW10[k]!) / POW10[k]! !== v) k++;
        // NaN never matches; ±Infinity and huge values fail the range check.
        if (k > MAX_SCALE || !(Math.abs(v * POW10[k]!) <= MAX_SCALED)) k = SCALE_FLOAT;
      }
      scale[c] = k;
    }
    // A value exact at a smaller scale is exact at its channel's final one; checked, not assumed:
    // a channel that fails becomes a float channel and the sequence is written again.
    for (;;) {
      const failed = this.writeValues(n, channels);
      if (failed < 0) return this.vals.bytes.subarray(0, this.vals.pos);
      scale[failed] = SCALE_FLOAT;
    }
  }

  /** Writes the value sequence; returns -1, or a channel whose scale turned out inexact. */
  private writeValues(n: number, channels: number): number {
    const w = this.vals;
    const scale = this.scale;
    const prev = this.prev;
    const ch = this.ch;
    const vs = this.values;
    w.pos = 0;
    prev.fill(0, 0, channels);
    for (let i = 0; i < n; i++) {
      const c = ch[i]!;
      const k = scale[c]!;
      const v = vs[i]!;
      if (k < 0) {
        w.float(v);
        continue;
      }
      const p = POW10[k]!;
      const m = Math.round(v * p);
      // Range too: an earlier value was only checked at the smaller scale it needed itself.
      if (m / p !== v || !(Math.abs(m) <= MAX_SCALED)) return c;
      w.int(m - prev[c]!);
      prev[c] = m;
    }
    return -1;
  }
}
