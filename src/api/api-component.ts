import type { BusMessage, Subscription } from "../bus/bus.ts";
import type { Component, Context } from "../component/component.ts";
import { RUN_NAMES } from "../config/keys/core.ts";
import { EntityStore } from "./entity-store.ts";
import { autoRegistrations } from "./entity-tree.ts";
import { ErrorLimiter } from "./error-limiter.ts";
import type { Registration } from "./payloads.ts";
import { RetainedTopics } from "./retained-topics.ts";
import { type EntityTopicId, MAIN_DEVICE, parseTopic } from "./topics.ts";
import { describe, validateMessage } from "./validate-message.ts";

/** Channels whose messages are retained per entity, cleared when the entity is deregistered. */
const RETAINED_CHANNELS = new Set(["a", "twin", "cmd", "status"]);

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
  private readonly retained = new RetainedTopics();
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
  }

  /** Retained topics remembered for clearing at deregistration (bounded; tests, bench). */
  get retainedCount(): number {
    return this.retained.size;
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
  }

  private onMessage(msg: BusMessage): void {
    if (msg.topic === `${this.root}/errors`) return;
    const parsed = parseTopic(msg.topic, this.root);
    if (!parsed.ok) {
      this.error(msg.topic, `Invalid topic ${msg.topic}: ${parsed.error.replace(/^topic '[^']*' /, "")}`);
      return;
    }
    const t = parsed.value;
    const retainedKind = (t.channel && RETAINED_CHANNELS.has(t.channel)) || t.rest[0] === "meta";
    // Retained messages were checked when they were first published; only registrations matter here.
    if (msg.retain && t.channel !== undefined) {
      if (retainedKind) this.track(t.entity, msg);
      return;
    }
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
    if (retainedKind && verdict.kind === "ok") this.track(t.entity, msg);
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
   * Removes the entity and its descendants and clears their retained messages. The main device
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
    for (const id of removed) {
      const topics = this.retained.take(id);
      if (id !== entity) topics.push(`${this.root}/${id}`);
      for (const t of topics) this.ctx.bus.publish(t, "", { retain: true, qos: 1 }).catch(() => {});
    }
    if (removed.length) this.log.info("entity deregistered", { entities: removed });
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

  /** Retained-channel topics of registered entities only, so unknown entities cost nothing. */
  private track(entity: EntityTopicId, msg: BusMessage): void {
    if (msg.payload.length === 0) this.retained.remove(entity, msg.topic);
    else if (this.store.get(entity) && !this.retained.add(entity, msg.topic))
      this.log.debug("too many retained topics to track; they stay retained after a deregistration", {
        entity,
        topic: msg.topic,
      });
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
