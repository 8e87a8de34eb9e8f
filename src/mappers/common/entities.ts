/**
 * A mapper's own view of the entities on the te/ bus, built from retained registration messages
 * and from auto-registration of default-scheme topics. No I/O: the caller publishes what it returns.
 */
import { type Registration, validateRegistration } from "../../api/payloads.ts";
import {
  defaultExternalId,
  defaultScheme,
  type EntityTopicId,
  type EntityType,
  MAIN_DEVICE,
} from "../../api/topics.ts";
import type { Result } from "./types.ts";

export interface Entity {
  topicId: EntityTopicId;
  kind: EntityType;
  /** Parent entity topic id; absent for the main device. */
  parent?: EntityTopicId;
  externalId: string;
  name?: string;
  type?: string;
  /** True when registered by us from a data message rather than by a registration message. */
  auto: boolean;
}

export interface AutoRegistration {
  /** Entities created, parents first. */
  created: Entity[];
  /** Registration payloads to publish retained on the bare entity topic, as thin-edge does. */
  announce: { topicId: EntityTopicId; payload: Record<string, unknown> }[];
}

const NOT_DEFAULT = (id: string) =>
  `entity '${id}' is not registered and does not match the default topic scheme ` +
  "(device/<name>// or device/<name>/service/<service>). Try explicit registration instead.";

export class EntityCache {
  private readonly byTopic = new Map<EntityTopicId, Entity>();
  private readonly byXid = new Map<string, Entity>();
  /** Registrations waiting for their parent: parent → child → its latest registration. */
  private readonly pending = new Map<EntityTopicId, Map<EntityTopicId, Registration>>();
  /** Waiting child → the parent it waits for. */
  private readonly waitingFor = new Map<EntityTopicId, EntityTopicId>();

  constructor(readonly mainId: string) {
    this.put({ topicId: MAIN_DEVICE, kind: "device", externalId: mainId, auto: true });
  }

  get(topicId: EntityTopicId): Entity | undefined {
    return this.byTopic.get(topicId);
  }

  byExternalId(xid: string): Entity | undefined {
    return this.byXid.get(xid);
  }

  /** Children and services whose parent is `topicId`. */
  childrenOf(topicId: EntityTopicId): Entity[] {
    return [...this.byTopic.values()].filter((e) => e.parent === topicId);
  }

  /**
   * Applies a registration message (parsed JSON). Returns the entities that are new or changed,
   * parents first; an identical re-registration returns none, so a cloud sees each entity once.
   */
  register(topicId: EntityTopicId, json: unknown): Result<Entity[]> {
    const v = validateRegistration(json);
    if (!v.ok) return v;
    const reg = v.value;
    if (topicId === MAIN_DEVICE || reg["@type"] === "device") {
      if (topicId !== MAIN_DEVICE)
        return { ok: false, error: "'@type' device is only valid for device/main//" };
      const main = this.byTopic.get(MAIN_DEVICE)!;
      main.type = reg.type ?? main.type;
      main.name = reg.name ?? main.name;
      return { ok: true, value: [] };
    }
    const parent = reg["@parent"] ?? parentFromTopic(topicId, reg["@type"]);
    // A re-registration replaces what was waiting: one entry per child, however often it is sent.
    this.unwait(topicId);
    if (!this.byTopic.has(parent)) {
      const children = this.pending.get(parent) ?? new Map<EntityTopicId, Registration>();
      children.set(topicId, reg);
      this.pending.set(parent, children);
      this.waitingFor.set(topicId, parent);
      return { ok: true, value: [] };
    }
    const out: Entity[] = [];
    this.apply(topicId, reg, parent, false, out);
    return { ok: true, value: out };
  }

  /**
   * The entity a data message belongs to, auto-registering it (and its parents) when its topic
   * follows the default scheme. Fails for unregistered entities outside the scheme.
   */
  ensure(topicId: EntityTopicId): Result<{ entity: Entity } & AutoRegistration> {
    const known = this.byTopic.get(topicId);
    if (known) return { ok: true, value: { entity: known, created: [], announce: [] } };
    const scheme = defaultScheme(topicId);
    if (!scheme) return { ok: false, error: NOT_DEFAULT(topicId) };
    const created: Entity[] = [];
    const announce: AutoRegistration["announce"] = [];
    if (scheme.parent && !this.byTopic.has(scheme.parent)) {
      const p = this.ensure(scheme.parent);
      if (!p.ok) return p;
      created.push(...p.value.created);
      announce.push(...p.value.announce);
    }
    // The same payload as the api component's auto-registration, so the two never disagree.
    const payload: Registration =
      scheme.kind === "service"
        ? { "@type": "service", "@parent": scheme.parent, name: scheme.name }
        : { "@type": "child-device", "@parent": scheme.parent, name: scheme.name };
    this.apply(topicId, payload, scheme.parent ?? MAIN_DEVICE, true, created);
    announce.push({ topicId, payload });
    return { ok: true, value: { entity: this.byTopic.get(topicId)!, created, announce } };
  }

  /** Deregistration (empty retained registration). The main device stays. */
  remove(topicId: EntityTopicId): Entity | undefined {
    this.unwait(topicId);
    if (topicId === MAIN_DEVICE) return undefined;
    const e = this.byTopic.get(topicId);
    if (!e) return undefined;
    this.byTopic.delete(topicId);
    if (this.byXid.get(e.externalId) === e) this.byXid.delete(e.externalId);
    return e;
  }

  private apply(
    topicId: EntityTopicId,
    reg: Registration,
    parent: EntityTopicId,
    auto: boolean,
    out: Entity[],
  ): void {
    const entity: Entity = {
      topicId,
      kind: reg["@type"] as EntityType,
      parent,
      externalId: reg["@id"] ?? defaultExternalId(this.mainId, topicId),
      name: reg.name,
      type: reg.type,
      auto,
    };
    const old = this.byTopic.get(topicId);
    if (!old || !sameEntity(old, entity)) {
      if (old && this.byXid.get(old.externalId) === old) this.byXid.delete(old.externalId);
      this.put(entity);
      out.push(entity);
    } else if (!auto) {
      old.auto = false;
    }
    const waiting = this.pending.get(topicId);
    if (waiting) {
      this.pending.delete(topicId);
      for (const [childId, childReg] of waiting) {
        this.waitingFor.delete(childId);
        this.apply(childId, childReg, topicId, false, out);
      }
    }
  }

  private unwait(child: EntityTopicId): void {
    const parent = this.waitingFor.get(child);
    if (parent === undefined) return;
    this.waitingFor.delete(child);
    const children = this.pending.get(parent);
    children?.delete(child);
    if (children?.size === 0) this.pending.delete(parent);
  }

  private put(e: Entity): void {
    this.byTopic.set(e.topicId, e);
    this.byXid.set(e.externalId, e);
  }
}

function sameEntity(a: Entity, b: Entity): boolean {
  return (
    a.kind === b.kind &&
    a.parent === b.parent &&
    a.externalId === b.externalId &&
    a.name === b.name &&
    a.type === b.type
  );
}

/** "Without @parent the parent follows from the topic"; outside the default scheme, the main device. */
function parentFromTopic(topicId: EntityTopicId, kind: string): EntityTopicId {
  const [a, device, c] = topicId.split("/");
  if (kind === "service" && a === "device" && device && c === "service") return `device/${device}//`;
  return MAIN_DEVICE;
}
