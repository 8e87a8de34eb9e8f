import type { BusMessage, Subscription } from "../bus/bus.ts";
import type { Component, Context } from "../component/component.ts";
import { EntityStore } from "./entity-store.ts";
import type { Registration } from "./payloads.ts";
import { type EntityTopicId, MAIN_DEVICE, parseTopic } from "./topics.ts";
import { autoRegistrations, describe, validateMessage } from "./validate-message.ts";

/** Channels whose messages are retained per entity, cleared when the entity is deregistered. */
const RETAINED_CHANNELS = new Set(["a", "twin", "cmd", "status"]);

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
  private readonly retainedTopics = new Map<EntityTopicId, Set<string>>();
  private readonly log;

  constructor(private readonly ctx: Context) {
    this.root = ctx.config.get("mqtt.topic_root");
    this.maxBytes = ctx.config.get("mqtt.max_payload_bytes");
    this.store = new EntityStore(ctx.config.dataDir);
    this.log = ctx.log;
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
  }

  private onMessage(msg: BusMessage): void {
    if (msg.topic === `${this.root}/errors`) return;
    const parsed = parseTopic(msg.topic, this.root);
    if (!parsed.ok) {
      this.error(`Invalid topic ${msg.topic}: ${parsed.error.replace(/^topic '[^']*' /, "")}`);
      return;
    }
    const t = parsed.value;
    if ((t.channel && RETAINED_CHANNELS.has(t.channel)) || t.rest[0] === "meta") this.track(t.entity, msg);
    // Retained messages were checked when they were first published; only registrations matter here.
    if (msg.retain && t.channel !== undefined) return;
    const verdict = validateMessage(t, msg.payload, this.maxBytes);
    switch (verdict.kind) {
      case "ignore":
        break;
      case "invalid":
        this.error(`Invalid ${describe(t)} on ${msg.topic}: ${verdict.error}`);
        break;
      case "register":
        if (this.store.register(t.entity, verdict.registration))
          this.log.info("entity registered", { entity: t.entity });
        break;
      case "deregister":
        this.deregister(t.entity);
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
        `The entity ${entity} of ${topic} does not match the default topic scheme 'device/<device-id>/service/<service-id>'. Try explicit registration instead.`,
      );
      return;
    }
    for (const { topicId, registration } of regs) {
      this.store.register(topicId, registration, true);
      this.log.info("entity auto-registered", { entity: topicId });
      this.publishRegistration(topicId, registration).catch((e) =>
        this.log.error("publish failed", { error: e }),
      );
    }
  }

  private deregister(entity: EntityTopicId): void {
    const removed = this.store.deregister(entity);
    for (const id of removed) {
      const topics = this.retainedTopics.get(id) ?? new Set();
      this.retainedTopics.delete(id);
      if (id !== entity) topics.add(`${this.root}/${id}`);
      for (const topic of topics) this.ctx.bus.publish(topic, "", { retain: true, qos: 1 }).catch(() => {});
    }
    if (removed.length) this.log.info("entity deregistered", { entities: removed });
  }

  private track(entity: EntityTopicId, msg: BusMessage): void {
    let set = this.retainedTopics.get(entity);
    if (!set) {
      set = new Set();
      this.retainedTopics.set(entity, set);
    }
    if (msg.payload.length === 0) set.delete(msg.topic);
    else set.add(msg.topic);
  }

  private publishRegistration(topicId: EntityTopicId, registration: Registration): Promise<void> {
    return this.ctx.bus.publish(`${this.root}/${topicId}`, JSON.stringify(registration), {
      retain: true,
      qos: 1,
    });
  }

  private error(text: string): void {
    this.log.debug(text);
    this.ctx.bus.publish(`${this.root}/errors`, text, { qos: 0 }).catch(() => {});
  }
}

export const createApiComponent = (ctx: Context): Component => new ApiComponent(ctx);
