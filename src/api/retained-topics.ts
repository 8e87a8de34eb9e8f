import type { EntityTopicId } from "./topics.ts";

/**
 * The retained topics (alarms, twin values, commands, health, unit metadata) of each registered
 * entity, so that a deregistration clears them. Bounded per entity and in total: local clients
 * can invent topics without end, and each costs memory for as long as the entity lives.
 */
export class RetainedTopics {
  private readonly byEntity = new Map<EntityTopicId, Set<string>>();
  private total = 0;

  constructor(
    private readonly perEntity = 256,
    private readonly max = 65536,
  ) {}

  get size(): number {
    return this.total;
  }

  /** False when the topic was not recorded because a bound is reached. */
  add(entity: EntityTopicId, topic: string): boolean {
    let set = this.byEntity.get(entity);
    if (set?.has(topic)) return true;
    if ((set?.size ?? 0) >= this.perEntity || this.total >= this.max) return false;
    if (!set) {
      set = new Set();
      this.byEntity.set(entity, set);
    }
    set.add(topic);
    this.total++;
    return true;
  }

  remove(entity: EntityTopicId, topic: string): void {
    const set = this.byEntity.get(entity);
    if (!set?.delete(topic)) return;
    this.total--;
    if (set.size === 0) this.byEntity.delete(entity);
  }

  /** The entity's topics, forgotten. */
  take(entity: EntityTopicId): string[] {
    const set = this.byEntity.get(entity);
    if (!set) return [];
    this.byEntity.delete(entity);
    this.total -= set.size;
    return [...set];
  }
}
