/**
 * Registration data in `context.mapper`, kept for the flows of a Cumulocity mapper as thin-edge's
 * c8y mapper keeps it (its entity cache writes the flow context, TEDGE-FACTS §10.4): each entity
 * under its topic id (`device/child//`) and under its external id, as
 * `{"@id","@topic-id","@type","@parent"?,"@name","@type-name"}`. `into-c8y-*` steps read it;
 * `cache-early-messages` holds an entity's messages until it is there. Entities come from
 * registration messages and, as thin-edge auto-registers them, from data of default-scheme
 * entities. Pure: the caller feeds messages and drains the context's updates.
 */
import { parseChannel } from "../api/channels.ts";
import { autoRegistrations, type Entity, EntityTree, externalIdOf } from "../api/entity-tree.ts";
import { validateRegistration } from "../api/payloads.ts";
import { type EntityTopicId, MAIN_DEVICE } from "../api/topics.ts";
import { jsonObject, type KeyValue } from "./types.ts";

/** What thin-edge calls an entity without a `type` of its own in Cumulocity. */
const TYPE_NAMES = { device: "thin-edge.io", "child-device": "thin-edge.io-child", service: "service" };

/** The record thin-edge stores for an entity (`FlowContextEntity`). */
export interface ContextEntity {
  "@id": string;
  "@topic-id": EntityTopicId;
  "@type": "device" | "child-device" | "service";
  "@parent"?: EntityTopicId;
  "@name": string;
  "@type-name": string;
}

export function contextEntity(mainId: string, e: Entity): ContextEntity {
  const reg = e.registration;
  const id = externalIdOf(mainId, e);
  const name = typeof reg.name === "string" ? reg.name : id;
  const typeName = typeof reg.type === "string" ? reg.type : TYPE_NAMES[reg["@type"]];
  return {
    "@id": id,
    "@topic-id": e.topicId,
    "@type": reg["@type"],
    ...(reg["@parent"] === undefined ? {} : { "@parent": reg["@parent"] }),
    "@name": name,
    "@type-name": typeName,
  };
}

/** Known topics, so the data path parses each topic once; bounded against junk topics. */
const TOPIC_CACHE = 4096;

export class FlowEntities {
  private readonly tree = new EntityTree();
  private readonly seen = new Map<string, EntityTopicId | null>();

  constructor(
    private readonly kv: KeyValue,
    private readonly mainId: string,
    private readonly root: string,
  ) {
    this.put(MAIN_DEVICE, { "@type": "device" }, false);
  }

  /**
   * One message a flow of the mapper reads, or a registration: updates the context when it
   * registers, removes or auto-registers an entity. Returns an error for a bad registration.
   */
  onMessage(topic: string, payload: Uint8Array): string | undefined {
    let entity = this.seen.get(topic);
    if (entity === undefined) {
      const c = parseChannel(topic, this.root);
      entity = c.ok ? c.value.entity : null;
      if (c.ok && c.value.kind === "registration") return this.registration(c.value.entity, payload);
      if (this.seen.size >= TOPIC_CACHE) this.seen.clear();
      this.seen.set(topic, entity);
    }
    // Known: registered, or put in the context by someone else (`flows test --context`).
    if (entity === null || this.tree.get(entity) || this.kv.get(entity) !== null) return undefined;
    for (const a of autoRegistrations(entity, (id) => this.tree.get(id) !== undefined) ?? [])
      this.put(a.topicId, a.registration, true);
    return undefined;
  }

  private registration(topicId: EntityTopicId, payload: Uint8Array): string | undefined {
    if (payload.byteLength === 0) {
      for (const e of this.tree.deleteSubtree(topicId)) {
        this.kv.remove(externalIdOf(this.mainId, e));
        this.kv.remove(e.topicId);
      }
      return undefined;
    }
    const reg = validateRegistration(jsonObject(payload));
    if (!reg.ok) return `registration of ${topicId}: ${reg.error}`;
    return this.put(topicId, reg.value, false);
  }

  private put(topicId: EntityTopicId, reg: Parameters<EntityTree["apply"]>[1], auto: boolean) {
    const r = this.tree.apply(topicId, reg, auto);
    if (!r.ok) return `registration of ${topicId}: ${r.error}`;
    if (!r.value) return undefined;
    const { entity, previous } = r.value;
    if (previous) this.kv.remove(externalIdOf(this.mainId, previous));
    const record = contextEntity(this.mainId, entity);
    this.kv.set(record["@id"], record);
    this.kv.set(topicId, record);
    return undefined;
  }
}
