/**
 * Data for an entity outside the default topic scheme that is not registered yet: thin-edge holds
 * it and maps it once the registration arrives. Bounded per entity and in entities, so a stream
 * of junk topics cannot grow it; the oldest entity's messages go first.
 */
import type { EntityTopicId } from "../../api/topics.ts";
import type { InMessage } from "../common/types.ts";

export const HELD_PER_ENTITY = 100;
export const HELD_ENTITIES = 256;

export class HeldMessages {
  private readonly held = new Map<EntityTopicId, InMessage[]>();

  hold(entity: EntityTopicId, msg: InMessage): void {
    let list = this.held.get(entity);
    if (!list) {
      if (this.held.size >= HELD_ENTITIES) this.held.delete(this.held.keys().next().value as string);
      list = [];
      this.held.set(entity, list);
    }
    if (list.length >= HELD_PER_ENTITY) list.shift();
    list.push(msg);
  }

  /** What was held for `entity`, oldest first; forgotten here. */
  release(entity: EntityTopicId): InMessage[] {
    const list = this.held.get(entity) ?? [];
    this.held.delete(entity);
    return list;
  }
}
