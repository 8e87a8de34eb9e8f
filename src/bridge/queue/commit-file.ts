import { closeSync, fdatasyncSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "../../foundation/crc32.ts";

/** What has left the queue: the seq of the oldest record not yet delivered nor dropped, and why. */
export interface CommitState {
  next: number;
  full: number;
  disk: number;
  corrupt: number;
  corruptBytes: number;
  compacted: number;
}

export const COMMIT_FILE = "commit";
export const LEGACY_COMMIT_FILE = "commit.json";
const FIELDS = ["next", "full", "disk", "corrupt", "corruptBytes", "compacted"] as const;
export const COMMIT_SLOT = 64;
const COMMIT_MAGIC = 0x3243514c; // "LQC2"

/**
 * The commit record: a preallocated file of two 64-byte slots, rewritten in place (no temp file, no
 * rename, no new blocks: it works on a full disk). Each write goes to the older slot with a higher
 * generation and its own CRC, so a torn write leaves the other slot intact.
 * Slot: magic u32 | generation u32 | 6 fields as u48 at 8-byte strides | crc u32 at 60.
 */
export function encodeCommit(state: CommitState, generation: number): Buffer {
  const b = Buffer.alloc(COMMIT_SLOT);
  b.writeUInt32LE(COMMIT_MAGIC, 0);
  b.writeUInt32LE(generation >>> 0, 4);
  for (const [i, f] of FIELDS.entries())
    b.writeUIntLE(Math.max(0, Math.min(state[f], 2 ** 48 - 1)), 8 + i * 8, 6);
  b.writeUInt32LE(crc32Of(b), 60);
  return b;
}

const crc32Of = (slot: Buffer) => crc32(slot.subarray(0, 60));

export const emptyCommit = (): CommitState => ({
  next: 0,
  full: 0,
  disk: 0,
  corrupt: 0,
  corruptBytes: 0,
  compacted: 0,
});

/** The newest intact slot of a commit file's bytes, or undefined when neither is intact. */
export function decodeCommit(file: Uint8Array): { state: CommitState; generation: number } | undefined {
  let best: { state: CommitState; generation: number } | undefined;
  for (let off = 0; off + COMMIT_SLOT <= file.byteLength; off += COMMIT_SLOT) {
    const b = Buffer.from(file.buffer, file.byteOffset + off, COMMIT_SLOT);
    if (b.readUInt32LE(0) !== COMMIT_MAGIC || b.readUInt32LE(60) !== crc32Of(b)) continue;
    const generation = b.readUInt32LE(4);
    // Generations wrap after 2^32 writes; the two slots are always one apart.
    if (best && ((generation - best.generation) | 0) <= 0) continue;
    const state = emptyCommit();
    for (const [i, f] of FIELDS.entries()) state[f] = b.readUIntLE(8 + i * 8, 6);
    best = { state, generation };
  }
  return best;
}

/** The commit file of queues written before the binary commit record (JSON, temp file + rename). */
export function readLegacyCommit(dir: string): CommitState | undefined {
  try {
    const v = JSON.parse(readFileSync(join(dir, LEGACY_COMMIT_FILE), "utf8")) as {
      next?: unknown;
      drops?: unknown;
    };
    const ok = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
    return { ...emptyCommit(), next: ok(v.next) ? v.next : 0, full: ok(v.drops) ? v.drops : 0 };
  } catch {
    return undefined;
  }
}

/**
 * The open commit file. Created (zero-filled to both slots) when the queue opens, while there is
 * room; from then on every write is in place.
 */
export class CommitFile {
  private generation: number;

  private constructor(
    private readonly fd: number,
    generation: number,
    readonly initial: CommitState,
  ) {
    this.generation = generation;
  }

  /** Opens (or creates) the commit file of `dir`, taking over a legacy commit.json once. */
  static open(dir: string): CommitFile {
    const path = join(dir, COMMIT_FILE);
    let found: ReturnType<typeof decodeCommit>;
    try {
      found = decodeCommit(readFileSync(path));
    } catch {}
    const legacy = found ? undefined : readLegacyCommit(dir);
    closeSync(openSync(path, "a"));
    const rw = openSync(path, "r+");
    const f = new CommitFile(rw, found?.generation ?? 0, found?.state ?? legacy ?? emptyCommit());
    // Both slots are written now, while there is room: later writes never extend the file.
    f.write(f.initial, true);
    f.write(f.initial, true);
    // The JSON commit file is taken over; its temp files were left by writes that failed (full disk).
    for (const stale of readdirSync(dir))
      if (stale === LEGACY_COMMIT_FILE || stale.startsWith(`${LEGACY_COMMIT_FILE}.tmp-`))
        rmSync(join(dir, stale), { force: true });
    return f;
  }

  write(state: CommitState, sync: boolean): void {
    this.generation = (this.generation + 1) >>> 0;
    const slot = encodeCommit(state, this.generation);
    writeSync(this.fd, slot, 0, COMMIT_SLOT, (this.generation & 1) * COMMIT_SLOT);
    if (sync) fdatasyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * When the commit record is written: at once (flushed) with fsync `always`, else marked and
 * written by the queue's periodic tick, and always at once before a segment is deleted.
 */
export class CommitWriter {
  private dirty = false;

  constructor(
    readonly file: CommitFile,
    private readonly state: () => CommitState,
    private readonly always: boolean,
  ) {}

  /** The state moved (delivery, drops). */
  changed(): void {
    if (this.always) this.now(true);
    else this.dirty = true;
  }

  /** Written now (a segment about to be deleted, shutdown). */
  now(sync = this.always): void {
    this.file.write(this.state(), sync);
    this.dirty = false;
  }

  /** The periodic write of a marked change. */
  tick(): void {
    if (this.dirty) this.now(false);
  }
}
