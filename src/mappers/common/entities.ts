/**
 * A mapper's own view of the entities on the te/ bus, built from retained registration messages
 * and from auto-registration of default-scheme topics. No I/O: the caller publishes what it returns.
 * The tree itself (parents, auto-registration, external ids) is the api's `EntityTree`; this adds
 * what a mapper needs on top: the cloud's view of each entity, lookup by external id, and children
 * that wait for their parent's registration.
 */
import {
  autoRegistrations,
  EntityTree,
  externalIdOf,
  parentOf,
  type Entity as TreeEntity,
} from "../../api/entity-tree.ts";
import { type Registration, validateRegistration } from "../../api/payloads.ts";
import { type EntityTopicId, type EntityType, MAIN_DEVICE } from "../../api/topics.ts";
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
  private readonly tree = new EntityTree();
  /** The cloud's view of each tree entity, kept so callers can hold on to it. */
  private readonly views = new Map<EntityTopicId, Entity>();
  private readonly byXid = new Map<string, Entity>();
  /** Registrations waiting for their parent: parent → child → its latest registration. */
  private readonly pending = new Map<EntityTopicId, Map<EntityTopicId, Registration>>();
  /** Waiting child → the parent it waits for. */
  private readonly waitingFor = new Map<EntityTopicId, EntityTopicId>();

  constructor(readonly mainId: string) {
    this.apply(MAIN_DEVICE, { "@type": "device" }, true, []);
  }

  get(topicId: EntityTopicId): Entity | undefined {
    return this.views.get(topicId);
  }

  byExternalId(xid: string): Entity | undefined {
    return this.byXid.get(xid);
  }

  /** Children and services whose parent is `topicId`. */
  childrenOf(topicId: EntityTopicId): Entity[] {
    return this.tree.children(topicId).map((id) => this.views.get(id)!);
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
      // the main device keeps what a partial re-registration leaves out; clouds learn it at connect
      const main = this.tree.get(MAIN_DEVICE)!;
      const r = this.apply(MAIN_DEVICE, { ...main.registration, ...reg, "@type": "device" }, false, []);
      return r.ok ? { ok: true, value: [] } : r;
    }
    const parent = parentOf(topicId, reg) ?? MAIN_DEVICE;
    // A re-registration replaces what was waiting: one entry per child, however often it is sent.
    this.unwait(topicId);
    if (!this.tree.get(parent)) {
      const children = this.pending.get(parent) ?? new Map<EntityTopicId, Registration>();
      children.set(topicId, reg);
      this.pending.set(parent, children);
      this.waitingFor.set(topicId, parent);
      return { ok: true, value: [] };
    }
    const out: Entity[] = [];
    const r = this.apply(topicId, reg, false, out);
    return r.ok ? { ok: true, value: out } : r;
  }

  /**
   * The entity a data message belongs to, auto-registering it (and its parents) when its topic
   * follows the default scheme. Fails for unregistered entities outside the scheme.
   */
  ensure(topicId: EntityTopicId): Result<{ entity: Entity } & AutoRegistration> {
    const known = this.views.get(topicId);
    if (known) return { ok: true, value: { entity: known, created: [], announce: [] } };
    // The same registrations as the api component's auto-registration, so the two never disagree.
    const regs = autoRegistrations(topicId, (id) => this.views.has(id));
    if (!regs) return { ok: false, error: NOT_DEFAULT(topicId) };
    const created: Entity[] = [];
    for (const { topicId: id, registration } of regs) {
      const r = this.apply(id, registration, true, created);
      if (!r.ok) return r;
    }
    return { ok: true, value: { entity: this.views.get(topicId)!, created, announce: regs.map(announced) } };
  }

  /** Deregistration (empty retained registration). The main device stays. */
  remove(topicId: EntityTopicId): Entity | undefined {
    this.unwait(topicId);
    if (topicId === MAIN_DEVICE || !this.tree.delete(topicId)) return undefined;
    const e = this.views.get(topicId)!;
    this.views.delete(topicId);
    if (this.byXid.get(e.externalId) === e) this.byXid.delete(e.externalId);
    return e;
  }

  /** Applies to the tree; `out` gets the entities whose cloud view changed, then released children. */
  private apply(topicId: EntityTopicId, reg: Registration, auto: boolean, out: Entity[]): Result<void> {
    const r = this.tree.apply(topicId, reg, auto);
    if (!r.ok) return r;
    const t = this.tree.get(topicId)!;
    const entity = view(this.mainId, t);
    const old = this.views.get(topicId);
    if (!old || !sameEntity(old, entity)) {
      if (old && this.byXid.get(old.externalId) === old) this.byXid.delete(old.externalId);
      this.views.set(topicId, entity);
      this.byXid.set(entity.externalId, entity);
      if (topicId !== MAIN_DEVICE) out.push(entity);
    } else old.auto = t.auto;
    const waiting = this.pending.get(topicId);
    if (waiting) {
      this.pending.delete(topicId);
      for (const [childId, childReg] of waiting) {
        this.waitingFor.delete(childId);
        this.apply(childId, childReg, false, out);
      }
    }
    return { ok: true, value: undefined };
  }

  private unwait(child: EntityTopicId): void {
    const parent = this.waitingFor.get(child);
    if (parent === undefined) return;
    this.waitingFor.delete(child);
    const children = this.pending.get(parent);
    children?.delete(child);
    if (children?.size === 0) this.pending.delete(parent);
  }
}

function view(mainId: string, e: TreeEntity): Entity {
  const reg = e.registration;
  return {
    topicId: e.topicId,
    kind: reg["@type"],
    parent: reg["@parent"],
    externalId: externalIdOf(mainId, e),
    name: reg.name,
    type: reg.type,
    auto: e.auto,
  };
}

function announced(r: {
  topicId: EntityTopicId;
  registration: Registration;
}): AutoRegistration["announce"][number] {
  return { topicId: r.topicId, payload: r.registration };
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
