import type { BusMessage, Subscription } from "../bus/bus.ts";
import type { Component, Context } from "../component/component.ts";
import { RUN_NAMES } from "../config/keys/core.ts";
import { EntityStore } from "./entity-store.ts";
import { autoRegistrations } from "./entity-tree.ts";
import { ErrorLimiter } from "./error-limiter.ts";
import type { Registration } from "./payloads.ts";
import { RetainedSweep } from "./retained-sweep.ts";
import { type EntityTopicId, MAIN_DEVICE, parseTopic } from "./topics.ts";
import { describe, validateMessage } from "./validate-message.ts";

/** Entities the store takes at most: each costs memory for as long as it lives (bench: api.rss_per_entity_bytes). */
export const MAX_ENTITIES = 100_000;

/** The main device and ledge's own services (`ledge-<component>`): never deregistered from the bus. */
export const PROTECTED_ENTITIES: ReadonlySet<EntityTopicId> = new Set([
  MAIN_DEVICE,
  ...RUN_NAMES.map((n) => `device/main/service/ledge-${n}`),
]);

/**
 * The te/ API core: validates what arrives on te/ (errors to te/errors, never a crash), keeps the
 * entity store (explicit registration, auto-registration of default-scheme entities,
 * deregistration with cleanup), and republishes persisted registrations after a restart.
 */
export class ApiComponent implements Component {
  readonly name = "api";
  readonly store: EntityStore;
  private sub?: Subscription;
  private readonly root: string;
  private readonly maxBytes: number;
  private readonly sweep: RetainedSweep;
  private readonly errors: ErrorLimiter;
  private readonly log;

  private readonly maxEntities: number;

  constructor(
    private readonly ctx: Context,
    opts: { maxEntities?: number } = {},
  ) {
    this.maxEntities = opts.maxEntities ?? MAX_ENTITIES;
    this.root = ctx.config.get("mqtt.topic_root");
    this.maxBytes = ctx.config.get("mqtt.max_payload_bytes");
    this.log = ctx.log;
    this.store = new EntityStore(ctx.config.dataDir, {
      onError: (e) => this.log.error("cannot persist the entity store", { error: e }),
    });
    this.errors = new ErrorLimiter(undefined, ctx.clock());
    this.sweep = new RetainedSweep(ctx.bus, {
      root: this.root,
      registered: (id) => !!this.store.get(id),
      onError: (e) =>
        this.log.error("cannot clear the retained messages of deregistered entities", { error: e }),
      onLeft: (topics) =>
        this.log.warn("retained messages of deregistered entities are left (the broker kept dropping them)", {
          count: topics.length,
          topics: topics.slice(0, 10),
        }),
    });
  }

  /** Resolves when the retained messages of every entity deregistered so far are cleared (tests). */
  swept(): Promise<void> {
    return this.sweep.idle();
  }

  async start(): Promise<void> {
    const loaded = this.store.load();
    if (loaded.error) this.log.warn(loaded.error);
    if (!this.store.get(MAIN_DEVICE))
      this.store.register(MAIN_DEVICE, { "@type": "device", type: this.ctx.config.get("device.type") });
    for (const e of this.store.list()) await this.publishRegistration(e.topicId, e.registration);
    this.sub = await this.ctx.bus.subscribe(`${this.root}/#`, (msg) => this.onMessage(msg));
  }

  async stop(): Promise<void> {
    await this.sub?.unsubscribe();
    this.store.close();
    // last: a look-up over MQTT may take a while, and the store must be on disk whatever happens
    await this.sweep.idle();
  }

  private onMessage(msg: BusMessage): void {
    if (msg.topic === `${this.root}/errors`) return;
    const parsed = parseTopic(msg.topic, this.root);
    if (!parsed.ok) {
      this.error(msg.topic, `Invalid topic ${msg.topic}: ${parsed.error.replace(/^topic '[^']*' /, "")}`);
      return;
    }
    const t = parsed.value;
    // Retained messages were checked when they were first published; only registrations matter here.
    if (msg.retain && t.channel !== undefined) return;
    const verdict = validateMessage(t, msg.payload, this.maxBytes);
    switch (verdict.kind) {
      case "ignore":
        break;
      case "invalid":
        this.error(msg.topic, `Invalid ${describe(t)} on ${msg.topic}: ${verdict.error}`);
        break;
      case "register": {
        if (this.full(t.entity, msg.topic)) break;
        const r = this.store.register(t.entity, verdict.registration);
        if (!r.ok) this.error(msg.topic, `Invalid registration on ${msg.topic}: ${r.error}`);
        else if (r.value) this.log.info("entity registered", { entity: t.entity });
        break;
      }
      case "deregister":
        this.deregister(t.entity, msg.topic);
        break;
      case "ok":
        // Clearing a retained alarm or twin value of an unknown entity must not bring it back.
        if (msg.payload.length > 0) this.autoRegister(t.entity, msg.topic);
        break;
    }
  }

  private autoRegister(entity: EntityTopicId, topic: string): void {
    if (this.store.get(entity)) return;
    const regs = autoRegistrations(entity, (id) => !!this.store.get(id));
    if (!regs) {
      this.error(
        topic,
        `The entity ${entity} of ${topic} does not match the default topic scheme 'device/<device-id>/service/<service-id>'. Try explicit registration instead.`,
      );
      return;
    }
    for (const { topicId, registration } of regs) {
      if (this.full(topicId, topic)) return;
      this.store.register(topicId, registration, true);
      this.log.info("entity auto-registered", { entity: topicId });
      this.republish(topicId, registration);
    }
  }

  /**
   * Removes the entity and its descendants and clears their retained messages (found on the broker
   * then, see RetainedSweep: nothing is remembered per topic). The main device
   * and ledge's own services are refused: their registration is published again, since the empty
   * retained message that asked for the deregistration already replaced it on the broker.
   */
  private deregister(entity: EntityTopicId, topic: string): void {
    const e = this.store.get(entity);
    if (
      this.store.subtree(entity).some((id) => PROTECTED_ENTITIES.has(id)) ||
      PROTECTED_ENTITIES.has(entity)
    ) {
      this.error(
        topic,
        `Refused to deregister ${entity}: the main device and ledge's own services cannot be deregistered`,
      );
      if (e) this.republish(e.topicId, e.registration);
      return;
    }
    const removed = this.store.deregister(entity);
    if (!removed.length) return;
    this.sweep.add(removed);
    this.log.info("entity deregistered", { entities: removed });
  }

  /** True (and reported) when `entity` is new and the store already holds `maxEntities`. */
  private full(entity: EntityTopicId, topic: string): boolean {
    if (this.store.size < this.maxEntities || this.store.get(entity)) return false;
    this.error(
      topic,
      `Refused to register ${entity}: the entity store is full (${this.maxEntities} entities)`,
    );
    return true;
  }

  private republish(topicId: EntityTopicId, registration: Registration): void {
    this.publishRegistration(topicId, registration).catch((e) =>
      this.log.error("publish failed", { error: e }),
    );
  }

  private publishRegistration(topicId: EntityTopicId, registration: Registration): Promise<void> {
    return this.ctx.bus.publish(`${this.root}/${topicId}`, JSON.stringify(registration), {
      retain: true,
      qos: 1,
    });
  }

  /** te/errors, rate-limited per source topic (see ErrorLimiter). */
  private error(source: string, text: string): void {
    this.log.debug(text);
    const out = this.errors.admit(source, text, this.ctx.clock());
    if (out !== undefined) this.ctx.bus.publish(`${this.root}/errors`, out, { qos: 0 }).catch(() => {});
  }
}

export const createApiComponent = (ctx: Context): Component => new ApiComponent(ctx);
