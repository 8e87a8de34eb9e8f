/**
 * Record columns in preallocated typed arrays, and their packing at flush into the narrowest lossless
 * typed arrays: timestamps as integer deltas, values as scaled decimal integers when every value of
 * the frame round-trips that way (typical sensor data), else as float32 or float64.
 */
import { MAX_SCALE, SCALE_FLOAT } from "./format.ts";

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const INT32_MAX = 2147483647;

export type IntColumn = Int8Array | Int16Array | Int32Array;

export class Columns {
  readonly ch: Uint16Array;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  // Output views over two scratch buffers, preallocated at full capacity; flush takes subarrays.
  private readonly ch8: Uint8Array;
  private readonly t8: Int8Array;
  private readonly t16: Int16Array;
  private readonly t32: Int32Array;
  private readonly t64: Float64Array;
  private readonly v8: Int8Array;
  private readonly v16: Int16Array;
  private readonly v32: Int32Array;
  private readonly vf32: Float32Array;

  constructor(readonly capacity: number) {
    this.ch = new Uint16Array(capacity);
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.ch8 = new Uint8Array(capacity);
    const tbuf = new ArrayBuffer(capacity * 8);
    this.t8 = new Int8Array(tbuf);
    this.t16 = new Int16Array(tbuf);
    this.t32 = new Int32Array(tbuf);
    this.t64 = new Float64Array(tbuf);
    const vbuf = new ArrayBuffer(capacity * 8);
    this.v8 = new Int8Array(vbuf);
    this.v16 = new Int16Array(vbuf);
    this.v32 = new Int32Array(vbuf);
    this.vf32 = new Float32Array(vbuf);
  }

  /** Channel column: uint8 when the frame has at most 256 channels. */
  packChannels(n: number, channels: number): Uint8Array | Uint16Array {
    if (channels > 256) return this.ch.subarray(0, n);
    for (let i = 0; i < n; i++) this.ch8[i] = this.ch[i]!;
    return this.ch8.subarray(0, n);
  }

  /**
   * Timestamp column: integer deltas (`t[i] = t[i-1] + dt[i]`, dt[0] = 0) in the narrowest int type,
   * or absolute float64 when a timestamp is fractional or a gap exceeds int32.
   */
  packTimes(n: number): IntColumn | Float64Array {
    const ts = this.ts;
    let lo = 0;
    let hi = 0;
    let exact = Number.isSafeInteger(ts[0]!);
    for (let i = 1; exact && i < n; i++) {
      const t = ts[i]!;
      const d = t - ts[i - 1]!;
      if (!Number.isSafeInteger(t) || d > INT32_MAX || d < -INT32_MAX) exact = false;
      else if (d < lo) lo = d;
      else if (d > hi) hi = d;
    }
    if (!exact) {
      this.t64.set(ts.subarray(0, n));
      return this.t64.subarray(0, n);
    }
    const out = lo >= -128 && hi <= 127 ? this.t8 : lo >= -32768 && hi <= 32767 ? this.t16 : this.t32;
    out[0] = 0;
    for (let i = 1; i < n; i++) out[i] = ts[i]! - ts[i - 1]!;
    return out.subarray(0, n);
  }

  /** Value column and its decimal scale (`SCALE_FLOAT` for raw floats). */
  packValues(n: number): { scale: number; values: IntColumn | Float32Array | Float64Array } {
    const vs = this.values;
    let scale = 0;
    let maxAbs = 0;
    let decimal = true;
    let f32 = true;
    for (let i = 0; i < n; i++) {
      const v = vs[i]!;
      if (f32 && Math.fround(v) !== v && !Number.isNaN(v)) f32 = false;
      if (!decimal) continue;
      if (v === 0 && 1 / v < 0) {
        decimal = false; // -0 has no integer form
        continue;
      }
      const a = v < 0 ? -v : v;
      if (a > maxAbs) maxAbs = a;
      while (scale <= MAX_SCALE && Math.round(v * POW10[scale]!) / POW10[scale]! !== v) scale++;
      if (scale > MAX_SCALE || maxAbs * POW10[scale]! > INT32_MAX) decimal = false; // also NaN, ±Infinity
    }
    if (decimal) {
      const p = POW10[scale]!;
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < n; i++) {
        const m = Math.round(vs[i]! * p);
        // A value exact at a smaller scale is exact at this one; checked, not assumed.
        if (m / p !== vs[i]) {
          decimal = false;
          break;
        }
        if (m < lo) lo = m;
        else if (m > hi) hi = m;
        this.v32[i] = m;
      }
      if (decimal) {
        if (lo >= -128 && hi <= 127) {
          for (let i = 0; i < n; i++) this.v8[i] = this.v32[i]!;
          return { scale, values: this.v8.subarray(0, n) };
        }
        if (lo >= -32768 && hi <= 32767) {
          // In place is safe: element i of v16 lies within bytes already read from v32.
          for (let i = 0; i < n; i++) this.v16[i] = this.v32[i]!;
          return { scale, values: this.v16.subarray(0, n) };
        }
        return { scale, values: this.v32.subarray(0, n) };
      }
    }
    if (f32) {
      for (let i = 0; i < n; i++) this.vf32[i] = vs[i]!;
      return { scale: SCALE_FLOAT, values: this.vf32.subarray(0, n) };
    }
    return { scale: SCALE_FLOAT, values: vs.subarray(0, n) };
  }
}
