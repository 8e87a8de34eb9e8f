import {
  closeSync,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { readJsonList, syncDir, writeFileAtomic } from "../foundation/files.ts";
import type { Entity } from "./entity-tree.ts";

/** One journal line: an entity as it now is, or topic ids removed. */
type JournalRecord = { put: Entity } | { del: string[] };

/** The journal is folded into the snapshot once it is this big and bigger than the snapshot. */
const COMPACT_BYTES = 256 * 1024;

const isEntity = (e: Partial<Entity> | null | undefined): e is Entity =>
  typeof e?.topicId === "string" && typeof e.registration?.["@type"] === "string";

/**
 * Persistence of the entity store: a snapshot (`entities.json`, a JSON list, replaced atomically)
 * plus an append-only journal beside it (`entities.json.journal`, one JSON record a line).
 * Changes are batched and written with one append and one fsync at most every `flushMs`, so a
 * registration flood costs one write per batch instead of one whole-file rewrite per entity.
 *
 * Crash safety: the snapshot is whole or old (atomic rename); journal records are idempotent, so
 * replaying them over a newer snapshot is harmless; a torn last line (crash mid-append) is skipped.
 * At most the last `flushMs` of changes can be lost, and the bus still holds them retained.
 */
export class EntityJournal {
  private readonly journalPath: string;
  private fd?: number;
  private pending: string[] = [];
  private timer?: NodeJS.Timeout;
  private journalBytes = 0;
  private snapshotBytes = 0;
  /** Bytes this journal wrote (records and snapshots): the flash-wear figure of the bench. */
  bytesWritten = 0;

  constructor(
    private readonly snapshotPath: string,
    private readonly all: () => Entity[],
    private readonly flushMs = 100,
    /** A batch that could not be written (disk full, data dir gone): reported, retried with the next. */
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    this.journalPath = `${snapshotPath}.journal`;
  }

  /** Snapshot, then the journal replayed over it; compacts so the next start reads one file. */
  load(): { entities: Entity[]; error?: string } {
    const snap = readJsonList<Entity>(this.snapshotPath, "entity store", isEntity);
    const byId = new Map(snap.items.map((e) => [e.topicId, e]));
    let text = "";
    try {
      text = readFileSync(this.journalPath, "utf8");
    } catch {
      // no journal: the snapshot is complete
    }
    let skipped = 0;
    for (const line of text.split("\n")) {
      if (!line) continue;
      let r: Partial<JournalRecord>;
      try {
        r = JSON.parse(line) as Partial<JournalRecord>;
      } catch {
        skipped++;
        continue;
      }
      if ("put" in r && isEntity(r.put)) byId.set(r.put.topicId, r.put);
      else if ("del" in r && Array.isArray(r.del)) for (const id of r.del) byId.delete(id);
      else skipped++;
    }
    const errors = [snap.error, skipped ? `skipped ${skipped} unreadable entity journal lines` : undefined];
    const entities = [...byId.values()];
    this.compact(entities);
    return { entities, error: errors.filter(Boolean).join("; ") || undefined };
  }

  put(e: Entity): void {
    this.record({ put: e });
  }

  delete(topicIds: string[]): void {
    this.record({ del: topicIds });
  }

  /**
   * Appends what is pending (one write, one fsync); compacts when the journal outgrew the snapshot.
   * From the batch timer the fsync runs off the event loop (it can take 100 ms on a busy SD card,
   * stalling every client, health checks included); the data is with the OS before either returns.
   */
  flush(background = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.length) return;
    const data = Buffer.from(this.pending.join(""));
    this.fd ??= openSync(this.journalPath, "a", 0o640);
    writeSync(this.fd, data);
    this.pending = [];
    if (!background) fsyncSync(this.fd);
    else {
      const fd = this.fd;
      fsync(fd, (e) => {
        if (e && fd === this.fd) this.onError(e);
      });
    }
    this.journalBytes += data.length;
    this.bytesWritten += data.length;
    if (this.journalBytes > COMPACT_BYTES && this.journalBytes > this.snapshotBytes) this.compact(this.all());
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) {
      fsyncSync(this.fd); // a background fsync may still be running
      closeSync(this.fd);
    }
    this.fd = undefined;
  }

  private record(r: JournalRecord): void {
    // serialised now: the entity object may change before the batch is written
    this.pending.push(`${JSON.stringify(r)}\n`);
    this.timer ??= setTimeout(() => {
      try {
        this.flush(true);
      } catch (e) {
        this.onError(e);
      }
    }, this.flushMs);
  }

  /** Snapshot first, journal emptied after: a crash in between replays records already in it. */
  private compact(entities: Entity[]): void {
    const text = JSON.stringify(entities);
    writeFileAtomic(this.snapshotPath, text, 0o640);
    this.snapshotBytes = Buffer.byteLength(text);
    this.bytesWritten += this.snapshotBytes;
    this.fd ??= openSync(this.journalPath, "a", 0o640);
    if (fstatSync(this.fd).size > 0) {
      ftruncateSync(this.fd, 0);
      fsyncSync(this.fd);
    } else syncDir(dirname(this.journalPath));
    this.journalBytes = 0;
  }
}
