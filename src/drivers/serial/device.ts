/**
 * One serial sensor at run time: keeps its port open (reopening with backoff when the device goes
 * away), frames the byte stream (lines, JSON documents, binary frames), parses each frame, and
 * publishes measurements on the child device. Bad frames are counted and reported, never fatal.
 */

import { topicFor } from "../../api/topics.ts";
import type { Bus } from "../../bus/bus.ts";
import type { Logger } from "../../foundation/logger.ts";
import { childTopicId, measurementTopic, Reachability, registerChild } from "../common/child-device.ts";
import type { SerialOptions, SerialTransport } from "../common/serial/transport.ts";
import type { SerialDeviceConfig } from "./config.ts";
import { buildDecoder, type Decoded } from "./decoder.ts";

export interface SerialDeviceDeps {
  bus: Bus;
  root: string;
  clock: () => number;
  log: Logger;
  open: (o: SerialOptions) => Promise<SerialTransport>;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  statsIntervalS: number;
  badLineEventIntervalS: number;
}

export interface SerialStats {
  lines: number;
  bad_lines: number;
  readings: number;
  reconnects: number;
}

export const ALARM_TYPE = "serial_disconnected";
export const BAD_LINE_EVENT = "serial_bad_line";
export const STATS_TYPE = "serial_stats";
const PARTIAL_WINDOW_MS = 1000;

export class SerialDevice {
  readonly stats: SerialStats = { lines: 0, bad_lines: 0, readings: 0, reconnects: 0 };
  private readonly reach: Reachability;
  private readonly topic: string;
  private transport: SerialTransport | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private stopped = false;
  private everOpened = false;
  private lastBadEvent = Number.NEGATIVE_INFINITY;
  private suppressed = 0;
  private pending = new Set<Promise<void>>();

  constructor(
    readonly cfg: SerialDeviceConfig,
    private readonly d: SerialDeviceDeps,
  ) {
    this.backoff = d.reconnectMinMs;
    this.topic = measurementTopic(d.root, cfg.name, cfg.measurement);
    this.reach = new Reachability({
      bus: d.bus,
      root: d.root,
      name: cfg.name,
      clock: d.clock,
      alarmType: ALARM_TYPE,
    });
  }

  get state(): "unknown" | "up" | "down" {
    return this.reach.current;
  }

  async start(): Promise<void> {
    const { bus, root } = this.d;
    await registerChild(bus, root, this.cfg.name, this.cfg.type);
    if (Object.keys(this.cfg.units).length > 0) {
      const meta = Object.fromEntries(Object.entries(this.cfg.units).map(([k, unit]) => [k, { unit }]));
      await bus.publish(`${this.topic}/meta`, JSON.stringify(meta), { retain: true, qos: 1 });
    }
    if (this.d.statsIntervalS > 0) {
      this.statsTimer = setInterval(() => this.track(this.publishStats()), this.d.statsIntervalS * 1000);
      this.statsTimer.unref?.();
    }
    // the first attempt is awaited so that a sensor present at start is up when start() returns
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.statsTimer);
    const t = this.transport;
    this.transport = undefined;
    await t?.close().catch(() => {});
    await Promise.allSettled([...this.pending]);
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    const { log } = this.d;
    let t: SerialTransport;
    try {
      t = await this.d.open(this.cfg.serial);
    } catch (e) {
      const reason = (e as Error).message;
      if (this.reach.current !== "down")
        log.warn("serial port unavailable, retrying", { device: this.cfg.name, reason });
      else
        log.debug("serial port still unavailable", { device: this.cfg.name, reason, retry_ms: this.backoff });
      await this.reach.down(reason).catch(() => {});
      this.scheduleRetry();
      return;
    }
    if (this.stopped) {
      await t.close();
      return;
    }
    if (this.everOpened) this.stats.reconnects++;
    this.everOpened = true;
    this.transport = t;
    this.backoff = this.d.reconnectMinMs;
    const decoder = buildDecoder(this.cfg.parser, this.cfg.maxLine);
    // the port may open in the middle of a line or frame: a first one that fails to parse right
    // after opening is that tail, not a fault of the sensor
    const openedAt = this.d.clock();
    let first = true;
    const onFrame = (e: Decoded) => {
      const partial = first && this.d.clock() - openedAt < PARTIAL_WINDOW_MS;
      first = false;
      this.onFrame(e, partial);
    };
    t.onData((chunk) => decoder.push(chunk, this.d.clock(), onFrame));
    t.on("error", (err) => log.warn("serial port error", { device: this.cfg.name, error: err.message }));
    t.once("close", (err) => {
      if (this.transport === t) this.transport = undefined;
      if (this.stopped) return;
      const reason = `serial port ${this.cfg.serial.path} lost${err ? `: ${err.message}` : ""}`;
      log.warn("serial port lost, reopening", { device: this.cfg.name, reason });
      this.track(this.reach.down(reason));
      this.scheduleRetry();
    });
    log.info("serial port open", { device: this.cfg.name, port: this.cfg.serial.path, kind: t.kind });
    await this.reach.up().catch(() => {});
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.d.reconnectMaxMs);
    this.retryTimer = setTimeout(() => this.track(this.connect()), wait);
  }

  /**
   * Handles one decoded frame (a line, a JSON document, a block, a binary frame) at the moment it
   * arrived. `maybePartial`: the first one right after opening, dropped instead of counted when bad.
   */
  onFrame(e: Decoded, maybePartial = false): void {
    const now = this.d.clock();
    const r = e.result;
    if (maybePartial && !r.ok) {
      this.d.log.debug("dropped the partial first frame after opening", { device: this.cfg.name });
      return;
    }
    this.stats.lines++;
    if (!r.ok) {
      this.badLine(now, r.error, e.raw);
      return;
    }
    if (!r.values) return;
    this.stats.readings++;
    if (this.d.log.enabled("trace")) this.d.log.trace("reading", { device: this.cfg.name, values: r.values });
    const payload = JSON.stringify({ ...r.values, time: new Date(r.time ?? now).toISOString() });
    this.track(this.d.bus.publish(this.topic, payload, { qos: 1 }));
  }

  private badLine(now: number, reason: string, line: string): void {
    this.stats.bad_lines++;
    this.d.log.debug("bad line", { device: this.cfg.name, reason });
    const every = this.d.badLineEventIntervalS * 1000;
    if (now - this.lastBadEvent < every) {
      this.suppressed++;
      return;
    }
    this.lastBadEvent = now;
    const event = {
      text: `bad line from ${this.cfg.serial.path}: ${reason}`,
      time: new Date(now).toISOString(),
      line: line.slice(0, 200),
      bad_lines: this.stats.bad_lines,
      suppressed: this.suppressed,
    };
    this.suppressed = 0;
    const topic = topicFor(this.d.root, childTopicId(this.cfg.name), "e", BAD_LINE_EVENT);
    this.track(this.d.bus.publish(topic, JSON.stringify(event), { qos: 1 }));
  }

  publishStats(): Promise<void> {
    const topic = measurementTopic(this.d.root, this.cfg.name, STATS_TYPE);
    const { lines, bad_lines, readings, reconnects } = this.stats;
    const payload = { lines, bad_lines, readings, reconnects, time: new Date(this.d.clock()).toISOString() };
    return this.d.bus.publish(topic, JSON.stringify(payload), { qos: 1 });
  }

  /** Keeps a publish in flight observed: errors are logged, and stop() waits for it. */
  private track(p: Promise<void>): void {
    const q = p
      .catch((e: Error) =>
        this.d.log.warn("serial publish failed", { device: this.cfg.name, error: e.message }),
      )
      .finally(() => this.pending.delete(q));
    this.pending.add(q);
  }
}
