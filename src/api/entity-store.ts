import { join } from "node:path";
import type { Result } from "../foundation/result.ts";
import { EntityJournal } from "./entity-journal.ts";
import { type Entity, type EntityChange, EntityTree } from "./entity-tree.ts";
import type { Registration } from "./payloads.ts";
import type { EntityTopicId } from "./topics.ts";

export type { Entity } from "./entity-tree.ts";

/**
 * The registered entities: an `EntityTree` in memory, persisted in the data dir through an
 * append-only journal (see `EntityJournal`), so that they survive a restart of ledge and of the
 * broker without rewriting every entity on every registration.
 */
export class EntityStore {
  private readonly tree = new EntityTree();
  private readonly journal: EntityJournal;

  constructor(dataDir: string, opts: { flushMs?: number; onError?: (e: unknown) => void } = {}) {
    const file = join(dataDir, "entities.json");
    this.journal = new EntityJournal(file, () => this.tree.list(), opts.flushMs, opts.onError);
  }

  /** Loads the persisted entities; a corrupt file is reported and replaced, never fatal. */
  load(): { error?: string } {
    const r = this.journal.load();
    for (const e of r.entities) this.tree.apply(e.topicId, e.registration, e.auto);
    return { error: r.error };
  }

  get size(): number {
    return this.tree.size;
  }

  /** Bytes the store has written to disk since it was created (journal and snapshots). */
  get bytesWritten(): number {
    return this.journal.bytesWritten;
  }

  list(): Entity[] {
    return this.tree.list();
  }

  get(topicId: EntityTopicId): Entity | undefined {
    return this.tree.get(topicId);
  }

  children(topicId: EntityTopicId): EntityTopicId[] {
    return this.tree.children(topicId);
  }

  /** The entity and its descendants, parents first. */
  subtree(topicId: EntityTopicId): EntityTopicId[] {
    return this.tree.subtree(topicId);
  }

  /** Stores a registration; the change is undefined when nothing changed (callers skip re-publishing). */
  register(
    topicId: EntityTopicId,
    registration: Registration,
    auto = false,
  ): Result<EntityChange | undefined> {
    const wasAuto = this.tree.get(topicId)?.auto;
    const r = this.tree.apply(topicId, registration, auto);
    if (!r.ok) return r;
    const e = this.tree.get(topicId);
    // persisted when new or changed, and when an auto-registered entity became an explicit one
    if (e && (r.value || (wasAuto && !e.auto))) this.journal.put(e);
    return r;
  }

  /** Removes an entity and its descendants; returns the removed topic ids, parents first. */
  deregister(topicId: EntityTopicId): EntityTopicId[] {
    const removed = this.tree.deleteSubtree(topicId).map((e) => e.topicId);
    if (removed.length) this.journal.delete(removed);
    return removed;
  }

  /** Writes what is pending now (at stop; tests). */
  flush(): void {
    this.journal.flush();
  }

  close(): void {
    this.flush();
    this.journal.close();
  }
}
