/**
 * The `modbus` component: polls the devices of `modbus.toml` and publishes them as child devices on
 * te/. One link and one bounded queue per endpoint (serial line or TCP host:port): devices on one
 * RS-485 line take turns, endpoints run in parallel. Each queued job is one poll attempt whose every
 * request is bounded by the device timeout, and retries go to the back of the queue, so a dead
 * device holds a shared line for at most one timeout at a time. The file is reloaded when it
 * changes: a valid one replaces only the devices it changes, an invalid one is rejected (file, line
 * and reason) and the running configuration stays.
 */
import type { OutMessage, Subscription } from "../../bus/bus.ts";
import type { Component, Context } from "../../component/component.ts";
import type { Logger } from "../../foundation/logger.ts";
import { registrationPayload } from "../common/child-device.ts";
import { type FileWatch, rejection, watchFile } from "../common/file-watch.ts";
import { type DeviceConfig, endpointOf, loadModbusConfig, type ModbusConfig } from "./config.ts";
import { commandFilters, DeviceCommands } from "./device-commands.ts";
import { type AttemptResult, DevicePoller, describeError } from "./device-poller.ts";
import { describe, ModbusLink, type PortFactory } from "./link.ts";
import { pointErrorEvents } from "./point-errors.ts";
import { type JobFn, PortQueue } from "./port-queue.ts";
import { alarmMessages, deviceTopic, measurementMessages, twinMessages } from "./readings.ts";
import { FlightRecorder } from "./recorder.ts";
import { RecorderLog, recorderFile } from "./recorder-log.ts";
import { planReload } from "./reload.ts";
import { backoffDelay, nextSlot } from "./schedule.ts";

/** Writes that may wait per endpoint beside the polls (one slot per device). */
const WRITE_SLOTS = 16;
export const COMM_ALARM = "modbus_comm";
export const STATS_TWIN = "modbus";
export const CONFIG_REJECTED_EVENT = "modbus_config_rejected";

interface Endpoint {
  key: string;
  link: ModbusLink;
  queue: PortQueue;
  recorder: FlightRecorder;
  devices: Set<string>;
}

interface DeviceRuntime {
  poller: DevicePoller;
  /** When the counters twin was last published (it must not follow every failing poll). */
  statsAt: number;
  /** The twin's state (without counters) when last published. */
  statsSignature?: string;
  endpoint: Endpoint;
  timer?: NodeJS.Timeout;
  start: number;
  attemptsLeft: number;
  /** Point name → when its exception event was last published. */
  pointEventAt: Map<string, { at: number; text: string }>;
  /** Replaced or removed by a reload: its running job publishes nothing more. */
  retired: boolean;
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
  private commands?: DeviceCommands;
  private watch?: FileWatch;
  private reloading: Promise<string | undefined> = Promise.resolve(undefined);
  private stopped = false;
  private config: ModbusConfig;
  private readonly statsMinGapMs: number;
  readonly recorderLog: RecorderLog;

  constructor(
    private readonly ctx: Context,
    private readonly opts: ModbusComponentOptions = {},
  ) {
    this.root = ctx.config.get("mqtt.topic_root");
    this.log = ctx.log;
    this.statsMinGapMs = opts.statsMinGapMs ?? 5000;
    // validate everything before anything starts: an invalid file throws with file:line: reason
    this.config = opts.config ?? loadModbusConfig(ctx.config.path("modbus.config_file"));
    this.recorderLog = new RecorderLog(
      recorderFile(ctx),
      () => [...this.endpoints.values()].map((e) => e.recorder),
      ctx.config.get("modbus.recorder.flush_s") * 1000,
      this.log,
    );
    for (const cfg of this.config.devices) this.addDevice(cfg);
  }

  private endpointFor(cfg: DeviceConfig): Endpoint {
    const key = endpointOf(cfg.transport);
    let ep = this.endpoints.get(key);
    if (!ep) {
      const recorder = new FlightRecorder(key, this.ctx.config.get("modbus.recorder.frames"), this.ctx.clock);
      const link = new ModbusLink(cfg.transport, { serialPort: this.opts.serialPort, recorder });
      const queue = new PortQueue(key, WRITE_SLOTS, (k, e) =>
        this.log.error(`job ${k} on ${key} failed`, { error: e }),
      );
      ep = { key, link, queue, recorder, devices: new Set() };
      this.endpoints.set(key, ep);
    }
    return ep;
  }

  private addDevice(cfg: DeviceConfig): DeviceRuntime {
    const endpoint = this.endpointFor(cfg);
    endpoint.devices.add(cfg.name);
    endpoint.queue.capacity += 1;
    const d: DeviceRuntime = {
      poller: new DevicePoller(cfg, this.ctx.clock),
      endpoint,
      start: 0,
      attemptsLeft: 0,
      statsAt: Number.NEGATIVE_INFINITY,
      pointEventAt: new Map(),
      retired: false,
    };
    this.devices.set(cfg.name, d);
    return d;
  }

  /** Stops a device's polling; closes its endpoint when it was the last device there. */
  private async removeDevice(name: string): Promise<void> {
    const d = this.devices.get(name);
    if (!d) return;
    d.retired = true;
    clearTimeout(d.timer);
    this.devices.delete(name);
    const ep = d.endpoint;
    ep.devices.delete(name);
    ep.queue.capacity -= 1;
    if (ep.devices.size === 0) {
      this.endpoints.delete(ep.key);
      await ep.queue.close();
      await ep.link.close();
    }
  }

  private async announce(cfg: DeviceConfig): Promise<void> {
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
    // reads never change a device: always offered (commissioning, the web console)
    await this.publish({
      topic: `${deviceTopic(this.root, cfg.name)}/cmd/modbus_read`,
      payload: "{}",
      retain: true,
      qos: 1,
    });
  }

  async start(): Promise<void> {
    for (const d of this.devices.values()) await this.announce(d.poller.cfg);
    this.commands = new DeviceCommands({
      root: this.root,
      log: this.log,
      publish: (m) => this.publish(m),
      device: (name) => {
        const d = this.devices.get(name);
        return d && { cfg: d.poller.cfg, link: d.endpoint.link, queue: d.endpoint.queue };
      },
    });
    this.sub = await this.ctx.bus.subscribe(commandFilters(this.root), (m) => this.commands?.onMessage(m));
    const now = this.ctx.clock();
    for (const d of this.devices.values()) {
      d.start = now;
      this.poll(d);
    }
    const statsMs = this.ctx.config.get("modbus.stats_interval_s") * 1000;
    if (statsMs > 0) this.statsTimer = setInterval(() => void this.publishAllStats(true), statsMs);
    this.recorderLog.start();
    if (!this.opts.config) this.watch = watchFile(this.config.file, () => void this.reload(), this.log);
    this.log.info(
      `polling ${this.devices.size} device(s) on ${this.endpoints.size} endpoint(s) from ${this.config.file}`,
    );
  }

  /**
   * Re-reads the file: an invalid one is rejected with every problem (file:line: reason) and the
   * running devices go on; a valid one restarts only the devices whose description (or whose
   * line's settings) changed, starts new ones and removes the ones gone (their registration too).
   * Returns the problems, or undefined when the file was applied.
   */
  reload(): Promise<string | undefined> {
    // one at a time: a burst of edits must not start a device twice
    this.reloading = this.reloading.then(() => this.reloadNow());
    return this.reloading;
  }

  private async reloadNow(): Promise<string | undefined> {
    if (this.stopped) return undefined;
    let next: ModbusConfig;
    try {
      next = loadModbusConfig(this.config.file);
    } catch (e) {
      const text = (e as Error).message;
      const now = this.ctx.clock();
      await this.publish(rejection(this.config.file, text, CONFIG_REJECTED_EVENT, this.root, now, this.log));
      return text;
    }
    const plan = planReload(this.config.devices, next.devices);
    this.config = next;
    for (const name of [...plan.removed, ...plan.changed]) await this.removeDevice(name);
    for (const name of plan.removed) {
      await this.publish({ topic: deviceTopic(this.root, name), payload: "", retain: true, qos: 1 });
      await this.publish({ ...this.commAlarm(name), payload: "" });
    }
    const now = this.ctx.clock();
    for (const cfg of next.devices.filter(
      (c) => plan.added.includes(c.name) || plan.changed.includes(c.name),
    )) {
      const d = this.addDevice(cfg);
      await this.announce(cfg);
      d.start = now;
      this.poll(d);
    }
    this.log.info(
      `${this.config.file} reloaded: ${plan.added.length} added, ${plan.changed.length} restarted, ${plan.removed.length} removed, ${plan.unchanged.length} untouched`,
    );
    return undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.close();
    await this.reloading;
    clearInterval(this.statsTimer);
    for (const d of this.devices.values()) clearTimeout(d.timer);
    await this.sub?.unsubscribe();
    await Promise.all([...this.endpoints.values()].map((ep) => ep.queue.close()));
    await Promise.all([...this.endpoints.values()].map((ep) => ep.link.close()));
    await this.publishAllStats(false);
    await this.recorderLog.stop();
  }

  /** A poll is due: queue it, or count it as skipped when the previous one has not finished. */
  private poll(d: DeviceRuntime): void {
    if (this.stopped || d.retired) return;
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
    if (this.stopped || d.retired) return;
    d.timer = setTimeout(() => this.poll(d), Math.max(0, at - this.ctx.clock()));
  }

  private async runAttempt(d: DeviceRuntime): Promise<JobFn | undefined> {
    const p = d.poller;
    d.attemptsLeft--;
    const result = await p.attempt(d.endpoint.link);
    if (d.retired) return undefined;
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
      out.push(...twinMessages(this.root, cfg.name, result.readings, p.twins));
      out.push(
        ...pointErrorEvents({
          root: this.root,
          device: cfg.name,
          errors: p.pointErrors,
          sent: d.pointEventAt,
          now: this.ctx.clock(),
          everyMs: this.ctx.config.get("modbus.point_error_event_interval_s") * 1000,
          iso,
        }),
      );
    }
    if (change === "up") {
      this.log.info(`${cfg.name} answers (unit ${cfg.unitId} at ${describe(cfg.transport)})`);
      out.push(this.health(cfg, "up", iso), { ...this.commAlarm(cfg.name), payload: "" });
      this.schedule(d, nextSlot(d.start, cfg.pollIntervalMs, this.ctx.clock()));
    } else if (change === "down" && !result.ok) {
      const reason = describeError(result.error);
      const text = `${cfg.name} (unit ${cfg.unitId} at ${describe(cfg.transport)}) does not answer: ${reason}`;
      this.log.warn(`${cfg.name} does not answer: ${reason}`);
      out.push(this.health(cfg, "down", iso), {
        ...this.commAlarm(cfg.name),
        payload: JSON.stringify({ text, severity: "major", time: iso }),
      });
      // the alarm's event carries what the line looked like when it happened
      out.push({
        topic: `${deviceTopic(this.root, cfg.name)}/e/${COMM_ALARM}`,
        payload: JSON.stringify({ text, time: iso, recorder: d.endpoint.recorder.snapshot() }),
        retain: false,
        qos: 1,
      });
      void this.recorderLog.write();
    }
    if (p.down) {
      const delay = backoffDelay(p.consecutiveFailures - cfg.downAfter + 1, {
        baseMs: cfg.pollIntervalMs,
        maxMs: cfg.backoffMaxMs,
      });
      this.schedule(d, this.ctx.clock() + delay);
    }
    for (const m of out) void this.publish(m);
    const changed = p.signature() !== d.statsSignature;
    if (changed && (change || this.ctx.clock() - d.statsAt >= this.statsMinGapMs)) void this.publishStats(d);
  }

  private health(cfg: DeviceConfig, status: "up" | "down", iso: string): OutMessage {
    return {
      topic: `${deviceTopic(this.root, cfg.name)}/status/health`,
      payload: JSON.stringify({ status, time: iso }),
      retain: true,
      qos: 1,
    };
  }

  private commAlarm(name: string): OutMessage {
    return { topic: `${deviceTopic(this.root, name)}/a/${COMM_ALARM}`, payload: "", retain: true, qos: 1 };
  }

  private async publishStats(d: DeviceRuntime): Promise<void> {
    d.statsSignature = d.poller.signature();
    d.statsAt = this.ctx.clock();
    await this.publish({
      topic: `${deviceTopic(this.root, d.poller.cfg.name)}/twin/${STATS_TWIN}`,
      payload: JSON.stringify(d.poller.twin()),
      retain: true,
      qos: 1,
    });
  }

  /** All devices (the interval's refresh), or those whose twin state changed since published. */
  private async publishAllStats(all: boolean): Promise<void> {
    for (const d of this.devices.values())
      if (all || d.poller.signature() !== d.statsSignature) await this.publishStats(d);
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
