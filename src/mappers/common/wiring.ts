/**
 * The I/O edge shared by every mapper: subscribe on the local bus, hand each message to the
 * pure translator, publish what it returns. Works the same on the in-process LocalBus (the fast
 * path when the broker is embedded) and on an MqttBus.
 */
import type { BusMessage, Subscription } from "../../bus/bus.ts";
import type { Component, Context } from "../../component/component.ts";
import type { MapperContext, OutMessage } from "./types.ts";

export interface Translator {
  translate(msg: BusMessage): OutMessage[];
  /** What to publish once subscribed (announcements a cloud expects on every start). */
  start?(): OutMessage[];
  /** Called on stop: publish what is still buffered (batches). */
  flush?(): OutMessage[];
  /** Messages due by time (batch age); called at `nextDeadline()` on the context's clock. */
  poll?(now: number): OutMessage[];
  nextDeadline?(): number | undefined;
}

/** The mapper context from the configuration; `device.id` is required. */
export function mapperContext(ctx: Context, component: string): MapperContext {
  const mainId = ctx.config.get("device.id");
  if (!mainId)
    throw new Error(
      `${component}: device.id is not set (ledge config set device.id <id>, or ledge cert create)`,
    );
  return {
    mainId,
    root: ctx.config.get("mqtt.topic_root"),
    now: ctx.clock,
    maxPayloadBytes: ctx.config.get("mqtt.max_payload_bytes"),
    apiReportsErrors: ctx.config.get("run.components").includes("api"),
  };
}

export class MapperComponent implements Component {
  private sub?: Subscription;
  /** Set before subscribing: retained messages can be handled before subscribe() returns. */
  private running = false;
  private timer?: NodeJS.Timeout;
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly onError: (e: unknown) => void;

  constructor(
    readonly name: string,
    private readonly ctx: Context,
    private readonly filters: string[],
    private readonly translator: Translator,
    private readonly hooks: { start?: () => void | Promise<void>; stop?: () => void | Promise<void> } = {},
  ) {
    this.onError = (e) => ctx.log.error("publish failed", { error: e });
  }

  async start(): Promise<void> {
    await this.hooks.start?.();
    this.running = true;
    this.sub = await this.ctx.bus.subscribe(this.filters, (msg) => this.handle(msg), { qos: 1 });
    this.emit(this.translator.start?.() ?? []);
    if (this.translator.nextDeadline) this.arm();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.sub?.unsubscribe();
    this.sub = undefined;
    await this.hooks.stop?.();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const rest = this.translator.flush?.() ?? [];
    await Promise.all(rest.map((m) => this.publish(m, 1)));
  }

  /** Publishes messages produced outside a bus delivery (timers). */
  emit(out: OutMessage[]): void {
    this.send(out, 1);
  }

  private handle(msg: BusMessage): void {
    let out: OutMessage[];
    try {
      out = this.translator.translate(msg);
    } catch (e) {
      // A translator bug must cost one message, not the mapper.
      this.ctx.log.error("translation failed", { topic: msg.topic, error: e });
      return;
    }
    this.send(out, msg.qos);
    if (this.translator.nextDeadline) this.arm();
  }

  /** Publishes in order: the bus keeps one client's messages in publish order. */
  private send(out: OutMessage[], qos: 0 | 1 | 2): void {
    const { bus } = this.ctx;
    for (const m of out) {
      if (!bus.publishNow) {
        this.publish(m, qos).catch(this.onError);
        continue;
      }
      try {
        bus.publishNow(m.topic, m.payload, { qos: m.qos ?? qos, retain: m.retain ?? false });
      } catch (e) {
        this.onError(e);
      }
    }
  }

  /** One timer at the translator's next deadline; the translator itself stays clock-free. */
  private arm(): void {
    const at = this.translator.nextDeadline?.();
    if (at === undefined || at >= this.timerAt || !this.running) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.emit(this.translator.poll?.(this.ctx.clock()) ?? []);
        this.arm();
      },
      Math.max(0, at - this.ctx.clock()),
    );
  }

  private publish(m: OutMessage, qos: 0 | 1 | 2): Promise<void> {
    return this.ctx.bus.publish(m.topic, m.payload, { qos: m.qos ?? qos, retain: m.retain ?? false });
  }
}
