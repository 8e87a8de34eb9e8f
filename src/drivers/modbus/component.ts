/**
 * The `modbus` component: polls the devices of `modbus.toml` and publishes them as child devices on
 * te/. One link and one bounded queue per endpoint (serial line or TCP host:port): devices on one
 * RS-485 line take turns, endpoints run in parallel. Each queued job is one poll attempt whose every
 * request is bounded by the device timeout, and retries go to the back of the queue, so a dead
 * device holds a shared line for at most one timeout at a time.
 */
import type { OutMessage, Subscription } from "../../bus/bus.ts";
import type { Component, Context } from "../../component/component.ts";
import type { Logger } from "../../foundation/logger.ts";
import { registrationPayload } from "../common/child-device.ts";
import { type DeviceConfig, endpointOf, loadModbusConfig, type ModbusConfig } from "./config.ts";
import { type AttemptResult, DevicePoller, describeError } from "./device-poller.ts";
import { describe, ModbusLink, type PortFactory } from "./link.ts";
import { type JobFn, PortQueue } from "./port-queue.ts";
import { alarmMessages, deviceTopic, measurementMessages } from "./readings.ts";
import { backoffDelay, nextSlot } from "./schedule.ts";
import { WriteCommands } from "./write-commands.ts";

/** Writes that may wait per endpoint beside the polls (one slot per device). */
const WRITE_SLOTS = 16;
export const COMM_ALARM = "modbus_comm";
export const STATS_TWIN = "modbus";

interface Endpoint {
  key: string;
  link: ModbusLink;
  queue: PortQueue;
}

interface DeviceRuntime {
  poller: DevicePoller;
  /** When the counters twin was last published (it must not follow every failing poll). */
  statsAt: number;
  endpoint: Endpoint;
  timer?: NodeJS.Timeout;
  start: number;
  attemptsLeft: number;
}

export interface ModbusComponentOptions {
  /** A parsed config instead of reading `modbus.config_file` (tests). */
  config?: ModbusConfig;
  serialPort?: PortFactory;
  /** Least time between two counter updates caused by errors (default 5 s; up/down publish at once). */
  statsMinGapMs?: number;
}

export class ModbusComponent implements Component {
  readonly name = "modbus";
  private readonly root: string;
  private readonly log: Logger;
  private readonly endpoints = new Map<string, Endpoint>();
  readonly devices = new Map<string, DeviceRuntime>();
  private statsTimer?: NodeJS.Timeout;
  private sub?: Subscription;
  private writes?: WriteCommands;
  private stopped = false;
  private readonly config: ModbusConfig;
  private readonly statsMinGapMs: number;

  constructor(
    private readonly ctx: Context,
    opts: ModbusComponentOptions = {},
  ) {
    this.root = ctx.config.get("mqtt.topic_root");
    this.log = ctx.log;
    this.statsMinGapMs = opts.statsMinGapMs ?? 5000;
    // validate everything before anything starts: an invalid file throws with file:line: reason
    this.config = opts.config ?? loadModbusConfig(ctx.config.path("modbus.config_file"));
    for (const cfg of this.config.devices) {
      const key = endpointOf(cfg.transport);
      let ep = this.endpoints.get(key);
      if (!ep) {
        const link = new ModbusLink(cfg.transport, { serialPort: opts.serialPort });
        const queue = new PortQueue(key, 0, (k, e) =>
          this.log.error(`job ${k} on ${key} failed`, { error: e }),
        );
        ep = { key, link, queue };
        this.endpoints.set(key, ep);
      }
      ep.queue.capacity += 1;
      this.devices.set(cfg.name, {
        poller: new DevicePoller(cfg, ctx.clock),
        endpoint: ep,
        start: 0,
        attemptsLeft: 0,
        statsAt: Number.NEGATIVE_INFINITY,
      });
    }
    for (const ep of this.endpoints.values()) ep.queue.capacity += WRITE_SLOTS;
  }

  async start(): Promise<void> {
    for (const d of this.devices.values()) {
      const cfg = d.poller.cfg;
      await this.publish({
        topic: deviceTopic(this.root, cfg.name),
        payload: registrationPayload(cfg.name, cfg.type),
        retain: true,
        qos: 1,
      });
      await this.publish({
        topic: `${deviceTopic(this.root, cfg.name)}/cmd/modbus_write`,
        payload: cfg.writes ? "{}" : "",
        retain: true,
        qos: 1,
      });
    }
    this.writes = new WriteCommands({
      root: this.root,
      log: this.log,
      publish: (m) => this.publish(m),
      device: (name) => {
        const d = this.devices.get(name);
        return d && { cfg: d.poller.cfg, link: d.endpoint.link, queue: d.endpoint.queue };
      },
    });
    this.sub = await this.ctx.bus.subscribe(`${this.root}/device/+///cmd/modbus_write/+`, (m) =>
      this.writes?.onMessage(m),
    );
    const now = this.ctx.clock();
    for (const d of this.devices.values()) {
      d.start = now;
      this.poll(d);
    }
    const statsMs = this.ctx.config.get("modbus.stats_interval_s") * 1000;
    if (statsMs > 0) this.statsTimer = setInterval(() => this.publishAllStats(true), statsMs);
    this.log.info(
      `polling ${this.devices.size} device(s) on ${this.endpoints.size} endpoint(s) from ${this.config.file}`,
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.statsTimer);
    for (const d of this.devices.values()) clearTimeout(d.timer);
    await this.sub?.unsubscribe();
    await Promise.all([...this.endpoints.values()].map((ep) => ep.queue.close()));
    await Promise.all([...this.endpoints.values()].map((ep) => ep.link.close()));
    await this.publishAllStats(false);
  }

  /** A poll is due: queue it, or count it as skipped when the previous one has not finished. */
  private poll(d: DeviceRuntime): void {
    if (this.stopped) return;
    const p = d.poller;
    // a device that is down gets one try per backoff step: it must not hold a shared line longer
    const attempts = p.down ? 1 : p.cfg.retries + 1;
    const r = d.endpoint.queue.enqueue(p.cfg.name, () => {
      d.attemptsLeft = attempts;
      return this.runAttempt(d);
    });
    if (r === "busy" || r === "full") {
      p.skip();
      this.log.debug(
        `poll of ${p.cfg.name} skipped: previous poll still ${r === "busy" ? "pending" : "queued"}`,
      );
    }
    if (!p.down) this.schedule(d, nextSlot(d.start, p.cfg.pollIntervalMs, this.ctx.clock()));
    // a device that is down is rescheduled when its attempt ends; one that never ran must try again
    else if (r !== "queued") this.schedule(d, this.ctx.clock() + p.cfg.pollIntervalMs);
  }

  private schedule(d: DeviceRuntime, at: number): void {
    clearTimeout(d.timer);
    if (this.stopped) return;
    d.timer = setTimeout(() => this.poll(d), Math.max(0, at - this.ctx.clock()));
  }

  private async runAttempt(d: DeviceRuntime): Promise<JobFn | undefined> {
    const p = d.poller;
    d.attemptsLeft--;
    const result = await p.attempt(d.endpoint.link);
    if (!result.ok && d.attemptsLeft > 0 && !this.stopped) {
      this.log.debug(`${p.cfg.name}: ${describeError(result.error)}; retrying`);
      // to the back of the queue: the other devices on this line go first
      return () => this.runAttempt(d);
    }
    this.finish(d, result);
    return undefined;
  }

  private finish(d: DeviceRuntime, result: AttemptResult): void {
    const p = d.poller;
    const cfg = p.cfg;
    const change = p.finish(result);
    const iso = new Date(result.time).toISOString();
    const out: OutMessage[] = [];
    if (result.ok) {
      out.push(...measurementMessages(this.root, cfg.name, result.readings, iso));
      out.push(...alarmMessages(this.root, cfg.name, result.readings, p.alarms, iso));
    }
    if (change === "up") {
      this.log.info(`${cfg.name} answers (unit ${cfg.unitId} at ${describe(cfg.transport)})`);
      out.push(this.health(cfg, "up", iso), { ...this.commAlarm(cfg), payload: "" });
      this.schedule(d, nextSlot(d.start, cfg.pollIntervalMs, this.ctx.clock()));
    } else if (change === "down" && !result.ok) {
      const reason = describeError(result.error);
      this.log.warn(`${cfg.name} does not answer: ${reason}`);
      out.push(this.health(cfg, "down", iso), {
        ...this.commAlarm(cfg),
        payload: JSON.stringify({
          text: `${cfg.name} (unit ${cfg.unitId} at ${describe(cfg.transport)}) does not answer: ${reason}`,
          severity: "major",
          time: iso,
        }),
      });
    }
    if (p.down) {
      const delay = backoffDelay(p.consecutiveFailures - cfg.downAfter + 1, {
        baseMs: cfg.pollIntervalMs,
        maxMs: cfg.backoffMaxMs,
      });
      this.schedule(d, this.ctx.clock() + delay);
    }
    for (const m of out) void this.publish(m);
    if (p.statsDirty && (change || this.ctx.clock() - d.statsAt >= this.statsMinGapMs))
      void this.publishStats(d);
  }

  private health(cfg: DeviceConfig, status: "up" | "down", iso: string): OutMessage {
    return {
      topic: `${deviceTopic(this.root, cfg.name)}/status/health`,
      payload: JSON.stringify({ status, time: iso }),
      retain: true,
      qos: 1,
    };
  }

  private commAlarm(cfg: DeviceConfig): OutMessage {
    return {
      topic: `${deviceTopic(this.root, cfg.name)}/a/${COMM_ALARM}`,
      payload: "",
      retain: true,
      qos: 1,
    };
  }

  private async publishStats(d: DeviceRuntime): Promise<void> {
    d.poller.statsDirty = false;
    d.statsAt = this.ctx.clock();
    await this.publish({
      topic: `${deviceTopic(this.root, d.poller.cfg.name)}/twin/${STATS_TWIN}`,
      payload: JSON.stringify(d.poller.stats),
      retain: true,
      qos: 1,
    });
  }

  private async publishAllStats(all: boolean): Promise<void> {
    for (const d of this.devices.values()) if (all || d.poller.statsDirty) await this.publishStats(d);
  }

  private async publish(m: OutMessage): Promise<void> {
    try {
      await this.ctx.bus.publish(m.topic, m.payload, { retain: m.retain, qos: m.qos });
    } catch (e) {
      this.log.warn(`publish to ${m.topic} failed`, { error: e });
    }
  }
}

export function createModbusComponent(ctx: Context): Component {
  return new ModbusComponent(ctx);
}
