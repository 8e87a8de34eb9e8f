import { join } from "node:path";
import { readJsonList, writeFileAtomic } from "../../foundation/files.ts";
import type { CommandRecord } from "./state.ts";

/**
 * The commands the agent has taken on, persisted as one JSON file in the data dir (atomic
 * rewrites on every change: commands are rare, and a crash must never lose an `executing` one).
 */
export class CommandStore {
  private readonly records = new Map<string, CommandRecord>();
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, "agent", "commands.json");
  }

  load(): { error?: string } {
    const r = readJsonList<CommandRecord>(
      this.file,
      "command state",
      (c) => typeof c?.topic === "string" && typeof c.op === "string",
    );
    for (const c of r.items) this.records.set(c.topic, c);
    return { error: r.error };
  }

  get(topic: string): CommandRecord | undefined {
    return this.records.get(topic);
  }

  list(): CommandRecord[] {
    return [...this.records.values()];
  }

  put(rec: CommandRecord): void {
    this.records.set(rec.topic, rec);
    this.save();
  }

  delete(topic: string): void {
    if (this.records.delete(topic)) this.save();
  }

  /** Drops finished commands older than `maxAgeMs` whose requester never cleared them. */
  prune(now: number, maxAgeMs: number): void {
    let changed = false;
    for (const r of this.records.values()) {
      if ((r.status === "successful" || r.status === "failed") && now - r.startedAt > maxAgeMs) {
        this.records.delete(r.topic);
        changed = true;
      }
    }
    if (changed) this.save();
  }

  private save(): void {
    writeFileAtomic(this.file, JSON.stringify(this.list()), 0o600);
  }
}
