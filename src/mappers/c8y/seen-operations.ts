/**
 * Operation ids the mapper is working on or has just finished. `500` (on every connect) makes
 * Cumulocity deliver the pending operations again, and a retained command can outlive a mapper
 * restart: as thin-edge does, an operation delivered twice is taken once. Active ids come from the
 * retained `c8y-mapper-<id>` commands (whoever created them); finished ones are kept, bounded.
 */
export const RECENT_OPERATIONS = 1024;

export class SeenOperations {
  private readonly active = new Set<string>();
  private readonly recent = new Set<string>();

  has(id: string): boolean {
    return this.active.has(id) || this.recent.has(id);
  }

  start(id: string): void {
    this.active.add(id);
  }

  /** The command was cleared: the operation is over. */
  finish(id: string): void {
    if (!this.active.delete(id)) return;
    this.recent.add(id);
    if (this.recent.size > RECENT_OPERATIONS) this.recent.delete(this.recent.values().next().value as string);
  }
}
