/**
 * The fieldbus flight recorder: per port (serial line or TCP endpoint) a bounded ring of the last
 * frames with their times, and per unit the outcome counters and response times. Pure bookkeeping
 * with the clock passed in; the link feeds it, the component snapshots it into communication
 * alarm events and into the `modbus-recorder` log file for `log_upload`.
 *
 * Frames are what the Modbus layer exchanges, in RTU form (unit, function, data, CRC): on a serial
 * line the bytes on the wire; on TCP the PDU of each MBAP frame (the CRC there is modbus-serial's,
 * not the wire's).
 */
import type { ErrorKind } from "./link.ts";

export interface UnitStats {
  requests: number;
  ok: number;
  timeouts: number;
  crc_errors: number;
  /** Exception responses by code. */
  exceptions: Record<string, number>;
  other_errors: number;
  /** Response times of answered requests, ms. */
  min_ms?: number;
  max_ms?: number;
  avg_ms?: number;
}

export interface RecorderSnapshot {
  port: string;
  time: string;
  frames: { time: string; dir: "tx" | "rx"; gap_ms: number; hex: string }[];
  units: Record<string, UnitStats>;
}

/** Longest frame kept (bytes): a Modbus RTU ADU is at most 256. */
const SLOT = 256;

/**
 * The ring is preallocated (one 256-byte slot per frame, times and lengths in typed arrays): a
 * frame is one copy, no allocation, and a port's memory is fixed by `capacity`; text is made only
 * when a snapshot is taken.
 */
export class FlightRecorder {
  private readonly bytes: Uint8Array;
  private readonly times: Float64Array;
  private readonly lengths: Uint16Array;
  private readonly dirs: Uint8Array;
  private next = 0;
  private count = 0;
  private readonly units = new Map<number, UnitStats & { totalMs: number; answered: number }>();
  /** Bumped on every change, so a writer can tell whether anything is new. */
  version = 0;

  constructor(
    readonly port: string,
    readonly capacity: number,
    private readonly clock: () => number,
  ) {
    this.bytes = new Uint8Array(capacity * SLOT);
    this.times = new Float64Array(capacity);
    this.lengths = new Uint16Array(capacity);
    this.dirs = new Uint8Array(capacity);
  }

  frame(dir: "tx" | "rx", frame: Uint8Array): void {
    if (this.capacity === 0) return;
    const i = this.next;
    const n = Math.min(frame.length, SLOT);
    this.bytes.set(n === frame.length ? frame : frame.subarray(0, n), i * SLOT);
    this.lengths[i] = n;
    this.times[i] = this.clock();
    this.dirs[i] = dir === "tx" ? 0 : 1;
    this.next = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    this.version++;
  }

  /** The outcome of one request to `unit`: answered (`kind` undefined) or failed. */
  outcome(unit: number, ms: number, kind?: ErrorKind, code?: number): void {
    let u = this.units.get(unit);
    if (!u) {
      u = {
        requests: 0,
        ok: 0,
        timeouts: 0,
        crc_errors: 0,
        exceptions: {},
        other_errors: 0,
        totalMs: 0,
        answered: 0,
      };
      this.units.set(unit, u);
    }
    u.requests++;
    this.version++;
    // an exception is an answer too: it has a response time
    if (kind === undefined || kind === "exception") {
      u.answered++;
      u.totalMs += ms;
      u.min_ms = Math.min(u.min_ms ?? ms, ms);
      u.max_ms = Math.max(u.max_ms ?? ms, ms);
    }
    if (kind === undefined) u.ok++;
    else if (kind === "timeout") u.timeouts++;
    else if (kind === "crc") u.crc_errors++;
    else if (kind === "exception") {
      const k = String(code ?? "?");
      u.exceptions[k] = (u.exceptions[k] ?? 0) + 1;
    } else u.other_errors++;
  }

  /** The frames oldest first and the per-unit statistics. */
  snapshot(): RecorderSnapshot {
    const frames: RecorderSnapshot["frames"] = [];
    let prev: number | undefined;
    for (let k = 0; k < this.count; k++) {
      const i = (this.next - this.count + k + this.capacity) % this.capacity;
      const t = this.times[i] ?? 0;
      const hex = Buffer.from(this.bytes.buffer, i * SLOT, this.lengths[i] ?? 0).toString("hex");
      frames.push({
        time: new Date(t).toISOString(),
        dir: this.dirs[i] ? "rx" : "tx",
        gap_ms: prev === undefined ? 0 : t - prev,
        hex,
      });
      prev = t;
    }
    const units: Record<string, UnitStats> = {};
    for (const [id, { totalMs, answered, ...s }] of this.units)
      units[String(id)] = answered > 0 ? { ...s, avg_ms: Math.round((totalMs / answered) * 10) / 10 } : s;
    return { port: this.port, time: new Date(this.clock()).toISOString(), frames, units };
  }
}

/** A snapshot as log lines (each starts with its ISO time, so log_upload's date filter applies). */
export function snapshotLines(s: RecorderSnapshot): string[] {
  const spaced = (hex: string) => hex.replace(/(..)(?!$)/g, "$1 ");
  const out = [`${s.time} ${s.port} snapshot: ${s.frames.length} frame(s)`];
  for (const f of s.frames) out.push(`${f.time} ${s.port} ${f.dir} +${f.gap_ms}ms ${spaced(f.hex)}`);
  for (const [unit, u] of Object.entries(s.units))
    out.push(`${s.time} ${s.port} unit ${unit} ${JSON.stringify(u)}`);
  return out;
}
