import type { Bus } from "../bus/bus.ts";
import { type EntityTopicId, parseTopic } from "./topics.ts";

/**
 * Rounds of "find, clear, find again" at most: a broker that sends only part of a large set per
 * subscription (mosquitto with `max_queued_bytes`) needs one round per part.
 */
const MAX_ROUNDS = 1000;

export interface SweepOptions {
  root: string;
  /** True while the entity is registered: a re-registration during the sweep keeps its topics. */
  registered(entity: EntityTopicId): boolean;
  onError(e: unknown): void;
  /** Retained topics that were still there after the last round (a broker that drops under load). */
  onLeft(topics: string[]): void;
}

/**
 * Clears the retained messages of deregistered entities (registration, alarms, twin values,
 * commands, health, metadata: everything under `<root>/<entity>/`), found by asking the broker
 * (`Bus.retainedTopics`) at deregistration time. Nothing is remembered per topic, so no message, live
 * or retained, costs memory here; the cost is one look-up per batch of deregistrations. Sweeps run one
 * at a time; deregistrations that arrive meanwhile are batched into the next.
 */
export class RetainedSweep {
  private readonly pending = new Set<EntityTopicId>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly opts: SweepOptions,
  ) {}

  add(entities: EntityTopicId[]): void {
    for (const e of entities) this.pending.add(e);
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when every sweep asked for so far is done (stop, tests). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending];
      this.pending.clear();
      try {
        await this.sweep(batch);
      } catch (e) {
        this.opts.onError(e);
      }
    }
  }

  private async sweep(entities: EntityTopicId[]): Promise<void> {
    const { root } = this.opts;
    const filters = entities.map((e) => `${root}/${e}/#`);
    const cleared = new Set<string>();
    for (let round = 0; ; round++) {
      const topics = (await this.bus.retainedTopics(filters)).filter((t) => {
        const p = parseTopic(t, root);
        return p.ok && !this.opts.registered(p.value.entity);
      });
      if (topics.length === 0) return;
      // no progress (only topics cleared before, published again meanwhile) or too many rounds
      if (round === MAX_ROUNDS || topics.every((t) => cleared.has(t))) {
        this.opts.onLeft(topics);
        return;
      }
      for (const t of topics) cleared.add(t);
      await Promise.all(topics.map((t) => this.bus.publish(t, "", { retain: true, qos: 1 })));
    }
  }
}
