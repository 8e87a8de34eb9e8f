/**
 * One field device: its read plan, one poll attempt over its endpoint's link, and the bookkeeping
 * that follows (counters, up/down, alarm state). Timers and queues live in the component; this
 * class never waits on anything but the link, and every link call is bounded by the device timeout.
 */
import type { DeviceConfig } from "./config.ts";
import { classify, type ModbusError, type ModbusLink } from "./link.ts";
import { planReads, type ReadBlock, splitBlock } from "./planner.ts";
import { decodeBlock, type Reading } from "./readings.ts";

export interface DeviceStats {
  polls: number;
  ok: number;
  failed: number;
  /** Polls not started because the previous one was still queued or running (a late poll). */
  skipped: number;
  requests: number;
  timeouts: number;
  crc_errors: number;
  connection_errors: number;
  other_errors: number;
  /** Modbus exception responses by exception code. */
  exceptions: Record<string, number>;
  last_error?: string;
  last_error_time?: string;
  last_ok_time?: string;
  /** Points whose register answers with an exception: point name → "holding 300: Modbus exception 2 (...)". */
  point_errors?: Record<string, string>;
}

/** A point whose read ended in an exception response. */
export interface PointError {
  point: string;
  table: string;
  address: number;
  code: number | undefined;
  text: string;
}

export type AttemptResult =
  | { ok: true; readings: Reading[]; time: number }
  | { ok: false; error: ModbusError; time: number };

export type Transition = "up" | "down" | undefined;

export const MODBUS_EXCEPTIONS: Record<number, string> = {
  1: "illegal function",
  2: "illegal data address",
  3: "illegal data value",
  4: "server device failure",
  5: "acknowledge",
  6: "server device busy",
  8: "memory parity error",
  10: "gateway path unavailable",
  11: "gateway target device failed to respond",
};

export class DevicePoller {
  /** Blocks as planned; a block the device refused as a whole is replaced by one read per point. */
  blocks: ReadBlock[];
  readonly stats: DeviceStats = {
    polls: 0,
    ok: 0,
    failed: 0,
    skipped: 0,
    requests: 0,
    timeouts: 0,
    crc_errors: 0,
    connection_errors: 0,
    other_errors: 0,
    exceptions: {},
  };
  /** Undefined until the first poll ends: nothing is claimed about a device never asked. */
  up: boolean | undefined;
  consecutiveFailures = 0;
  /** Alarm type → raised, for the device's alarm points. */
  readonly alarms = new Map<string, boolean>();
  /** Points currently refused with an exception, by point name. */
  readonly pointErrors = new Map<string, PointError>();
  /** Twin fragment → last JSON published, for twin points. */
  readonly twins = new Map<string, string>();

  constructor(
    readonly cfg: DeviceConfig,
    private readonly clock: () => number,
  ) {
    this.blocks = planReads(cfg.points, {
      maxGap: cfg.maxGap,
      maxRegisters: cfg.maxRegisters,
      maxBits: cfg.maxBits,
    });
  }

  get down(): boolean {
    return this.up === false;
  }

  /**
   * Reads every block once. A timeout, CRC or connection error ends the attempt at once (the
   * device is not answering properly: do not spend one timeout per block on a shared line);
   * an exception response only loses that block's points.
   */
  async attempt(link: ModbusLink): Promise<AttemptResult> {
    const readings: Reading[] = [];
    const cfg = this.cfg;
    for (let i = 0; i < this.blocks.length; i++) {
      const block = this.blocks[i]!;
      this.stats.requests++;
      try {
        const data = await link.read(cfg.unitId, block.table, block.start, block.count, cfg.timeoutMs);
        readings.push(...decodeBlock(cfg.points, block, data));
        for (const pi of block.points) this.pointErrors.delete(cfg.points[pi]!.name);
      } catch (e) {
        const err = classify(e);
        this.count(err);
        if (err.kind !== "exception") return { ok: false, error: err, time: this.clock() };
        if (err.code === 2 && block.points.length > 1) {
          // a coalesced read crossed addresses the device does not map: read its points one by one
          const parts = splitBlock(block, cfg.points);
          this.blocks.splice(i, 1, ...parts);
          i--;
        } else
          for (const pi of block.points) {
            const p = cfg.points[pi]!;
            const text = `${p.table} ${p.address}: ${describeError(err)}`;
            this.pointErrors.set(p.name, {
              point: p.name,
              table: p.table,
              address: p.address,
              code: err.code,
              text,
            });
          }
      }
    }
    return { ok: true, readings, time: this.clock() };
  }

  count(err: ModbusError): void {
    switch (err.kind) {
      case "timeout":
        this.stats.timeouts++;
        break;
      case "crc":
        this.stats.crc_errors++;
        break;
      case "connection":
        this.stats.connection_errors++;
        break;
      case "exception": {
        const k = String(err.code);
        this.stats.exceptions[k] = (this.stats.exceptions[k] ?? 0) + 1;
        break;
      }
      default:
        this.stats.other_errors++;
    }
    this.stats.last_error = describeError(err);
    this.stats.last_error_time = new Date(this.clock()).toISOString();
  }

  /** Records a poll's final outcome (after retries); returns the up/down change, if any. */
  finish(result: AttemptResult): Transition {
    this.stats.polls++;
    if (result.ok) {
      this.stats.ok++;
      this.stats.last_ok_time = new Date(result.time).toISOString();
      this.consecutiveFailures = 0;
      if (this.up !== true) {
        this.up = true;
        return "up";
      }
      return undefined;
    }
    this.stats.failed++;
    this.consecutiveFailures++;
    if (this.up !== false && this.consecutiveFailures >= this.cfg.downAfter) {
      this.up = false;
      return "down";
    }
    return undefined;
  }

  skip(): void {
    this.stats.skipped++;
  }

  /** The counters for the twin, with the points currently in error named. */
  twin(): DeviceStats {
    const errors = [...this.pointErrors.values()];
    return errors.length === 0
      ? this.stats
      : { ...this.stats, point_errors: Object.fromEntries(errors.map((e) => [e.point, e.text])) };
  }

  /**
   * What the twin says apart from its running counters: up or down, the last error and the points
   * in error. The twin is republished when this changes, and with fresh counters at its interval.
   */
  signature(): string {
    const errors = [...this.pointErrors.values()].map((e) => e.text).sort();
    const codes = Object.keys(this.stats.exceptions).sort();
    return JSON.stringify([this.up, this.stats.last_error, errors, codes, this.stats.skipped > 0]);
  }
}

export function describeError(err: ModbusError): string {
  if (err.kind === "exception" && err.code !== undefined)
    return `Modbus exception ${err.code} (${MODBUS_EXCEPTIONS[err.code] ?? "unknown"})`;
  return err.message;
}
