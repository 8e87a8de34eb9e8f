/**
 * The one entity tree of ledge: the api component's store, the mappers' cache and the agent's
 * HTTP view all keep their entities in an `EntityTree`, so parent resolution, auto-registration,
 * subtree walks and external ids follow one set of rules. Pure: no I/O, no clock.
 */
import type { Result } from "../foundation/result.ts";
import type { Registration } from "./payloads.ts";
import { defaultExternalId, defaultScheme, type EntityTopicId, MAIN_DEVICE } from "./topics.ts";

export interface Entity {
  topicId: EntityTopicId;
  /** As registered, with `@parent` filled in for children and services. */
  registration: Registration;
  /** Registered by ledge because data arrived for a default-scheme entity. */
  auto: boolean;
}

/** What `apply` changed: the entity as it is now, and what it was (absent when new). */
export interface EntityChange {
  entity: Entity;
  previous?: Entity;
}

/**
 * thin-edge's rule for a registration without `@parent`: a service belongs to the device of its
 * default-scheme topic, anything else to the main device. The main device has no parent.
 */
export function parentOf(topicId: EntityTopicId, registration: Registration): EntityTopicId | undefined {
  if (registration["@type"] === "device") return undefined;
  if (registration["@parent"] !== undefined) return registration["@parent"];
  const scheme = defaultScheme(topicId);
  return registration["@type"] === "service" && scheme?.kind === "service" ? scheme.parent : MAIN_DEVICE;
}

/** The cloud identity: `@id` when registered with one, else thin-edge's `<main-id>:device:child`. */
export function externalIdOf(mainId: string, e: Entity): string {
  return e.registration["@id"] ?? defaultExternalId(mainId, e.topicId);
}

/**
 * The registrations (parents first) that bring `entity` and its default-scheme ancestors into
 * the tree, as thin-edge auto-registers them; undefined outside the default scheme.
 */
export function autoRegistrations(
  entity: EntityTopicId,
  known: (id: EntityTopicId) => boolean,
): { topicId: EntityTopicId; registration: Registration }[] | undefined {
  const out: { topicId: EntityTopicId; registration: Registration }[] = [];
  let id: EntityTopicId | undefined = entity;
  while (id && !known(id)) {
    const scheme = defaultScheme(id);
    if (!scheme) return undefined;
    const registration: Registration =
      scheme.kind === "device"
        ? { "@type": "device", type: "ledge" }
        : { "@type": scheme.kind, "@parent": scheme.parent ?? MAIN_DEVICE, name: scheme.name };
    out.unshift({ topicId: id, registration });
    id = scheme.parent;
  }
  return out;
}

export class EntityTree {
  private readonly byId = new Map<EntityTopicId, Entity>();
  /** parent → its children, so subtree walks cost the subtree, not the whole tree. */
  private readonly kids = new Map<EntityTopicId, Set<EntityTopicId>>();

  get size(): number {
    return this.byId.size;
  }

  get(topicId: EntityTopicId): Entity | undefined {
    return this.byId.get(topicId);
  }

  list(): Entity[] {
    return [...this.byId.values()];
  }

  children(topicId: EntityTopicId): EntityTopicId[] {
    return [...(this.kids.get(topicId) ?? [])];
  }

  /**
   * Applies a registration. Returns the change, or undefined when the entity is already
   * registered exactly so (callers skip re-publishing). `auto` stays true only while every
   * registration of the entity was an auto-registration.
   */
  apply(topicId: EntityTopicId, registration: Registration, auto = false): Result<EntityChange | undefined> {
    if (registration["@type"] === "device" && topicId !== MAIN_DEVICE)
      return { ok: false, error: `'@type' device is only valid for ${MAIN_DEVICE}` };
    if (topicId === MAIN_DEVICE && registration["@type"] !== "device")
      return { ok: false, error: `${MAIN_DEVICE} is the main device: its '@type' must be device` };
    const reg: Registration = { ...registration };
    const parent = parentOf(topicId, reg);
    if (parent !== undefined) reg["@parent"] = parent;
    const previous = this.byId.get(topicId);
    const sameReg = previous && JSON.stringify(previous.registration) === JSON.stringify(reg);
    if (previous && sameReg) {
      if (!auto && previous.auto) previous.auto = false;
      return { ok: true, value: undefined };
    }
    const entity: Entity = { topicId, registration: reg, auto: previous ? previous.auto && auto : auto };
    if (previous) this.unlink(previous);
    this.byId.set(topicId, entity);
    if (parent !== undefined) {
      let set = this.kids.get(parent);
      if (!set) {
        set = new Set();
        this.kids.set(parent, set);
      }
      set.add(topicId);
    }
    return { ok: true, value: { entity, previous } };
  }

  /**
   * The entity and all its descendants, parents first. Registrations come from the bus:
   * `@parent` may point back down the tree, even to itself, so each entity is visited once.
   */
  subtree(topicId: EntityTopicId): EntityTopicId[] {
    if (!this.byId.has(topicId)) return [];
    const out = [topicId];
    const seen = new Set(out);
    for (let i = 0; i < out.length; i++)
      for (const c of this.kids.get(out[i]!) ?? [])
        if (!seen.has(c)) {
          seen.add(c);
          out.push(c);
        }
    return out;
  }

  /** Removes one entity; its children keep their `@parent` until they are removed too. */
  delete(topicId: EntityTopicId): Entity | undefined {
    const e = this.byId.get(topicId);
    if (!e) return undefined;
    this.byId.delete(topicId);
    this.unlink(e);
    return e;
  }

  /** Removes the entity and its descendants; returns them parents first. */
  deleteSubtree(topicId: EntityTopicId): Entity[] {
    return this.subtree(topicId).map((id) => this.delete(id)!);
  }

  private unlink(e: Entity): void {
    const parent = e.registration["@parent"];
    if (parent === undefined) return;
    const set = this.kids.get(parent);
    set?.delete(e.topicId);
    if (set?.size === 0) this.kids.delete(parent);
  }
}
