/**
 * `flows`: runs the flows of every `mappers/<mapper>/flows` dir on the local bus, between the te/
 * API and the mappers. In `ledge run` it shares the in-process bus (no extra MQTT hop); alone
 * (`ledge run flows`) it is one MQTT client like any other component. Flow files are rescanned
 * every `flows.reload_interval_ms`: created, edited and deleted flows are loaded, reloaded or
 * stopped while messages flow; a flow stopped for running too long or using too much memory
 * stays stopped until one of its files changes.
 */
import { appendFile } from "node:fs/promises";
import type { Subscription } from "../bus/bus.ts";
import type { Component, Context } from "../component/component.ts";
import { parseDuration } from "../foundation/duration.ts";
import { DEFAULT_ERRORS_TOPIC, type SinkSpec } from "./config.ts";
import { flowsDirOf, mappersWithFlows } from "./discover.ts";
import type { Flow, Outcome } from "./flow.ts";
import { FlowSet, isC8yMapper } from "./flow-set.ts";
import { startInput } from "./inputs.ts";
import type { SandboxLimits } from "./sandbox.ts";
import { text } from "./types.ts";

/**
 * What connects one flow file to the bus. The MQTT subscriptions belong to the file, not to one
 * loaded version of it: a reload swaps `flow` under them, so no message is lost or seen twice
 * while a flow is edited; only subscriptions whose topics changed are made or dropped.
 */
interface Wiring {
  flow: Flow;
  subs: Map<string, Promise<Subscription>>;
  timers: NodeJS.Timeout[];
  stops: (() => void)[];
}

export class FlowsComponent implements Component {
  readonly name = "flows";
  private readonly sets = new Map<string, FlowSet>();
  private readonly wiring = new Map<string, Wiring>();
  /** Registration messages for the Cumulocity mappers' context, by mapper. */
  private readonly registrations = new Map<string, Promise<Subscription>>();
  private reloadTimer?: NodeJS.Timeout;
  private statsTimer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private running = false;
  private readonly limits: SandboxLimits;

  constructor(private readonly ctx: Context) {
    this.limits = {
      timeoutMs: ctx.config.get("flows.step_timeout_ms"),
      memoryBytes: ctx.config.get("flows.memory_limit_mb") * 1024 * 1024,
    };
  }

  async start(): Promise<void> {
    this.running = true;
    await this.refresh();
    this.reloadTimer = setInterval(
      () => void this.refresh(),
      this.ctx.config.get("flows.reload_interval_ms"),
    );
    // thin-edge rounds an interval under one second up to one second
    const every = Math.max(
      1000,
      parseDuration(this.ctx.config.get("flows.stats.interval"), "flows.stats.interval"),
    );
    this.statsTimer = setInterval(() => this.publishStats(), every);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.reloadTimer);
    clearInterval(this.statsTimer);
    await this.refreshing;
    for (const file of [...this.wiring.keys()]) await this.unwire(file);
    await Promise.all(
      [...this.registrations.values()].map(async (s) => (await s).unsubscribe().catch(() => {})),
    );
    this.registrations.clear();
    for (const set of this.sets.values()) set.close();
    this.sets.clear();
  }

  /** The loaded flows, by mapper (for tests and diagnostics). */
  flows(): { mapper: string; flow: Flow }[] {
    return [...this.sets.values()].flatMap((s) => s.live().map((flow) => ({ mapper: s.mapper, flow })));
  }

  /** One rescan at a time; a rescan that comes while one runs waits for it. */
  refresh(): Promise<void> {
    const run = async () => {
      const configDir = this.ctx.config.dir;
      for (const mapper of mappersWithFlows(configDir))
        if (!this.sets.has(mapper)) this.sets.set(mapper, this.newSet(mapper));
      let changed = false;
      for (const set of this.sets.values()) {
        for (const c of await set.refresh()) {
          changed = true;
          if (c.kind === "failed") this.ctx.log.error("flow not loaded", { file: c.file, error: c.error });
          else this.ctx.log.info(`flow ${c.kind}`, { mapper: set.mapper, file: c.file });
          if (c.flow && this.running) await this.wire(set, c.file, c.flow);
          else await this.unwire(c.file);
          c.old?.close();
        }
      }
      if (changed) await this.publishStatus();
      for (const set of this.sets.values())
        if (set.entities && this.running && !this.registrations.has(set.mapper))
          this.registrations.set(set.mapper, this.followRegistrations(set));
    };
    const p = (this.refreshing ?? Promise.resolve())
      .then(run)
      .catch((e) => this.ctx.log.error("flows rescan failed", { error: e }));
    this.refreshing = p;
    return p;
  }

  private now = () => new Date(this.ctx.clock());

  private newSet(mapper: string): FlowSet {
    const mainId = this.ctx.config.get("device.id");
    const c8y = isC8yMapper(mapper);
    if (c8y && !mainId)
      this.ctx.log.warn("device.id is not set: no registration data for the flows", { mapper });
    return new FlowSet(
      mapper,
      flowsDirOf(this.ctx.config.dir, mapper),
      this.limits,
      (flow) => (level, line) =>
        this.ctx.log[
          level === "debug" ? "debug" : level === "warn" ? "warn" : level === "error" ? "error" : "info"
        ](line, { flow }),
      {
        c8y: c8y && mainId ? { mainId, root: this.ctx.config.get("mqtt.topic_root") } : undefined,
        stats: {
          onMessage: this.ctx.config.get("flows.stats.on_message"),
          onInterval: this.ctx.config.get("flows.stats.on_interval"),
          onStartup: this.ctx.config.get("flows.stats.on_startup"),
        },
      },
    );
  }

  /** Registration messages (retained entity topics) into a Cumulocity mapper's context. */
  private followRegistrations(set: FlowSet): Promise<Subscription> {
    const root = this.ctx.config.get("mqtt.topic_root");
    return this.ctx.bus.subscribe(
      `${root}/+/+/+/+`,
      (m) => {
        this.observe(set, m.topic, m.payload);
        this.contextChanged();
      },
      { qos: 1 },
    );
  }

  private observe(set: FlowSet, topic: string, payload: Uint8Array): void {
    const bad = set.entities?.onMessage(topic, payload);
    if (bad) this.ctx.log.warn(bad, { mapper: set.mapper });
  }

  /** What changes to `context.mapper` release (thin-edge: after each event). */
  private contextChanged(): void {
    for (const set of this.sets.values()) {
      if (!set.mapperKv.changed) continue;
      for (const r of set.contextUpdates(this.now())) this.handle(r.flow, r.outcome, false);
    }
  }

  /**
   * Retained `<root>/device/main/service/ledge-flows/status/flows`: every flow file by
   * `<mapper>/<flow>`, `running`, `failed` (not loaded, with the error) or `stopped` (killed).
   */
  private publishStatus(): Promise<void> {
    const status: Record<string, { file: string; status: string; error?: string }> = {};
    for (const set of this.sets.values())
      for (const l of set.flows.values()) {
        const name = `${set.mapper}/${l.flow?.spec.name ?? l.file}`;
        if (l.error) status[name] = { file: l.file, status: "failed", error: l.error };
        else if (l.flow?.dead) status[name] = { file: l.file, status: "stopped", error: l.flow.dead };
        else status[name] = { file: l.file, status: "running" };
      }
    const topic = `${this.ctx.config.get("mqtt.topic_root")}/device/main/service/ledge-flows/status/flows`;
    return this.ctx.bus
      .publish(topic, JSON.stringify(status), { qos: 1, retain: true })
      .catch((e) => this.ctx.log.error("flow status not published", { error: e }));
  }

  /**
   * Each mapper's statistics on `<root>/device/main/service/tedge-mapper-<mapper>/status/metrics/<record>`,
   * the service thin-edge's mapper of that name publishes them under.
   */
  private publishStats(): void {
    const root = this.ctx.config.get("mqtt.topic_root");
    for (const set of this.sets.values())
      for (const r of set.stats?.dump() ?? [])
        this.ctx.bus
          .publish(
            `${root}/device/main/service/tedge-mapper-${set.mapper}/status/metrics/${r.name}`,
            r.payload,
            {
              qos: 1,
            },
          )
          .catch((e) => this.ctx.log.error("flow statistics not published", { error: e }));
  }

  private async wire(set: FlowSet, file: string, flow: Flow): Promise<void> {
    const prev = this.wiring.get(file);
    const w: Wiring = { flow, subs: new Map(), timers: [], stops: [] };
    this.stopTimers(prev);
    this.wiring.set(file, w);
    this.handle(flow, flow.onStartup(this.now()));
    const current = () => {
      const c = this.wiring.get(file);
      return c && !c.flow.dead ? c.flow : undefined;
    };
    for (const input of flow.spec.inputs) {
      if (input.kind === "mqtt") {
        const key = JSON.stringify(input.topics);
        const kept = prev?.subs.get(key);
        prev?.subs.delete(key);
        w.subs.set(
          key,
          kept ??
            this.ctx.bus.subscribe(
              input.topics,
              (m) => {
                const f = current();
                if (set.entities) this.observe(set, m.topic, m.payload);
                if (f)
                  this.handle(
                    f,
                    f.onMessage({
                      topic: m.topic,
                      payload: m.payload,
                      time: this.now(),
                      mqtt: { qos: m.qos, retain: m.retain },
                    }),
                  );
              },
              { qos: 1 },
            ),
        );
      } else
        w.stops.push(
          startInput(
            input,
            (topic, line) => {
              const f = current();
              if (f)
                this.handle(
                  f,
                  f.onMessage({ topic, payload: new TextEncoder().encode(line), time: this.now() }),
                );
            },
            (e) => this.handle(flow, { out: [], errors: [`flow ${flow.spec.name}: ${e}`] }),
          ),
        );
    }
    for (const { index, ms } of flow.intervals())
      w.timers.push(
        setInterval(() => {
          const f = current();
          if (f === flow) this.handle(flow, flow.onInterval(index, this.now()));
        }, ms),
      );
    await Promise.all([...w.subs.values()]);
    if (prev) await this.dropSubs(prev);
  }

  private async unwire(file: string): Promise<void> {
    const w = this.wiring.get(file);
    if (!w) return;
    this.wiring.delete(file);
    this.stopTimers(w);
    await this.dropSubs(w);
  }

  private stopTimers(w: Wiring | undefined): void {
    for (const t of w?.timers ?? []) clearInterval(t);
    for (const s of w?.stops ?? []) s();
  }

  private async dropSubs(w: Wiring): Promise<void> {
    await Promise.all([...w.subs.values()].map(async (s) => (await s).unsubscribe().catch(() => {})));
    w.subs.clear();
  }

  /** Publishes a flow's outcome; `thenContext`: then what the context changes it made release. */
  private handle(flow: Flow, o: Outcome, thenContext = true): void {
    for (const m of o.out) this.send(flow.spec.output, m.topic, m.payload, m.qos, m.retain);
    for (const e of o.errors) {
      this.ctx.log.warn(e);
      const sink = flow.spec.errors;
      this.send(
        sink,
        sink.kind === "mqtt" ? (sink.topic ?? DEFAULT_ERRORS_TOPIC) : DEFAULT_ERRORS_TOPIC,
        e,
        1,
        false,
      );
    }
    if (o.killed) {
      this.ctx.log.error("flow stopped", { flow: flow.spec.name, reason: o.killed });
      const w = this.wiring.get(flow.spec.file);
      if (w?.flow === flow) this.stopTimers(w);
      void this.publishStatus();
    }
    if (thenContext) this.contextChanged();
  }

  private send(
    sink: SinkSpec,
    topic: string,
    payload: string | Uint8Array,
    qos: 0 | 1 | 2,
    retain: boolean,
  ): void {
    const fail = (e: unknown) => this.ctx.log.error("flow output failed", { topic, error: e });
    if (sink.kind === "file") {
      appendFile(sink.path, `[${topic}] ${text(payload)}\n`).catch(fail);
      return;
    }
    this.ctx.bus.publish(topic, payload, { qos, retain }).catch(fail);
  }
}

export function createFlowsComponent(ctx: Context): Component {
  return new FlowsComponent(ctx);
}
