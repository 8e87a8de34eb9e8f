import { join } from "node:path";
import { readJsonList, writeFileAtomic } from "../foundation/files.ts";
import type { Registration } from "./payloads.ts";
import { defaultScheme, type EntityTopicId, MAIN_DEVICE } from "./topics.ts";

export interface Entity {
  topicId: EntityTopicId;
  registration: Registration;
  /** Registered by ledge because data arrived for a default-scheme entity. */
  auto: boolean;
}

const FILE = "entities.json";

/**
 * The registered entities, kept in memory and persisted in the data dir (whole-file atomic
 * writes: registrations are rare), so that they survive a restart of ledge and of the broker.
 */
export class EntityStore {
  private readonly entities = new Map<EntityTopicId, Entity>();
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, FILE);
  }

  /** Loads the persisted entities; a corrupt file is reported and replaced, never fatal. */
  load(): { error?: string } {
    const r = readJsonList<Entity>(
      this.file,
      "entity store",
      (e) => typeof e?.topicId === "string" && typeof e.registration?.["@type"] === "string",
    );
    for (const e of r.items) this.entities.set(e.topicId, e);
    return { error: r.error };
  }

  list(): Entity[] {
    return [...this.entities.values()];
  }

  get(topicId: EntityTopicId): Entity | undefined {
    return this.entities.get(topicId);
  }

  /** Stores a registration; returns false when nothing changed (so callers skip re-publishing). */
  register(topicId: EntityTopicId, registration: Registration, auto = false): boolean {
    const withParent = { ...registration };
    if (withParent["@type"] !== "device" && !withParent["@parent"]) {
      const parent = defaultScheme(topicId)?.parent ?? MAIN_DEVICE;
      withParent["@parent"] = parent;
    }
    const old = this.entities.get(topicId);
    if (old && JSON.stringify(old.registration) === JSON.stringify(withParent)) return false;
    this.entities.set(topicId, { topicId, registration: withParent, auto: old ? old.auto && auto : auto });
    this.save();
    return true;
  }

  /** Removes an entity and its descendants; returns the removed topic ids. */
  deregister(topicId: EntityTopicId): EntityTopicId[] {
    if (!this.entities.has(topicId)) return [];
    // Registrations come from the bus: `@parent` may point back down the tree, even to itself.
    const removed: EntityTopicId[] = [];
    const seen = new Set<EntityTopicId>();
    const visit = (id: EntityTopicId): void => {
      if (seen.has(id)) return;
      seen.add(id);
      removed.push(id);
      for (const c of this.children(id)) visit(c);
    };
    visit(topicId);
    for (const id of removed) this.entities.delete(id);
    this.save();
    return removed;
  }

  children(topicId: EntityTopicId): EntityTopicId[] {
    return this.list()
      .filter((e) => e.registration["@parent"] === topicId)
      .map((e) => e.topicId);
  }

  private save(): void {
    writeFileAtomic(this.file, JSON.stringify(this.list(), null, 1), 0o640);
  }
}
