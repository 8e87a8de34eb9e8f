import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../config/store.ts";
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
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
      return { error: `cannot read ${this.file}: ${(e as Error).message}` };
    }
    try {
      const list = JSON.parse(text) as CommandRecord[];
      if (!Array.isArray(list)) throw new Error("not a list");
      for (const r of list)
        if (typeof r?.topic === "string" && typeof r.op === "string") this.records.set(r.topic, r);
      return {};
    } catch (e) {
      return { error: `ignoring corrupt command state ${this.file}: ${(e as Error).message}` };
    }
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
