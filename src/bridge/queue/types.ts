/**
 * The bridge's store-and-forward queue. Two implementations behave identically (one test suite
 * runs against both): `MemoryQueue` (lost on restart) and `DiskQueue` (segment files, survives
 * restart and `kill -9`).
 *
 * Life of a record: `append` (synchronous, so it is stored before the local publisher is
 * acknowledged) → `next` hands it out for sending, in order → `commit(seq)` once the cloud
 * acknowledged it and every record before it. `rewind` resends everything not committed (after
 * a lost connection). A record that cannot be kept is counted with its reason, never lost silently.
 */
export interface QueuedMessage {
  topic: string;
  /** Kept as given (no copy): a CBOR frame can be queued as is. */
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
}

export interface QueueEntry extends QueuedMessage {
  /** Increasing sequence number (gaps where records were dropped or corrupted). */
  seq: number;
  /** Bytes it counts against the bound (its on-disk size). */
  size: number;
  /** When it was appended, ms since the epoch. */
  time: number;
}

/**
 * Why records were not delivered:
 * - `full`: the queue reached `maxBytes` and the oldest were dropped (or one alone exceeded it);
 * - `disk`: the disk refused the write (ENOSPC, EIO, EDQUOT, ...), so the record was never stored;
 * - `corrupt`: stored, but found damaged when read back (CRC, framing) and skipped;
 * - `compacted`: folded into a summary record (the information survives at lower resolution).
 */
export const DROP_REASONS = ["full", "disk", "corrupt", "compacted"] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounts = Record<DropReason, number>;

export const noDrops = (): DropCounts => ({ full: 0, disk: 0, corrupt: 0, compacted: 0 });

export interface QueueStats {
  /** Records stored and not yet committed (sent-but-unacknowledged included). */
  depth: number;
  bytes: number;
  /** Records not yet handed out by `next`. */
  unsent: number;
  /** Records dropped since the queue was created (persisted by the disk queue): all reasons. */
  drops: number;
  dropped: DropCounts;
  /** Bytes skipped as corrupt. */
  corruptBytes: number;
  appended: number;
  /** The seq the next append will get. */
  nextSeq: number;
  /** Append time of the oldest stored record. */
  oldestTime?: number;
  /** Set while the last write failed (`ENOSPC: ...`); cleared by the next successful one. */
  diskError?: string;
}

export interface MessageQueue {
  /** Stores a message; returns its seq, or undefined when it was not stored (counted as a drop). */
  append(msg: QueuedMessage): number | undefined;
  /** The next record after the read cursor, in order, or undefined when all were handed out. */
  next(): QueueEntry | undefined;
  /** Removes every record with seq <= `seq` (delivered). */
  commit(seq: number): void;
  /** Moves the read cursor back to the oldest record still stored. */
  rewind(): void;
  stats(): QueueStats;
  /** Flushes to stable storage regardless of the fsync policy (shutdown). */
  flush(): void;
  close(): void;
}

/** A stored record offered to compaction. */
export interface Foldable {
  seq: number;
  /** Append time (ms). */
  time: number;
  msg: QueuedMessage;
}

export interface FoldResult {
  /** Records to keep, in queue order: some of the inputs, and summaries in their place. */
  out: Foldable[];
  /** Records folded away (inputs − outputs). */
  folded: number;
}

export interface QueueLimits {
  maxBytes: number;
  /**
   * Compact-before-drop: when the bound is reached, unsent records are offered to this first
   * (compact.ts folds measurements into per-interval summaries); the oldest are dropped only when
   * it frees nothing more.
   */
  compact?: (records: Foldable[]) => FoldResult;
  /**
   * Drop priority: when folding frees nothing more, the oldest unsent records for which this is
   * true (measurements, kinds.ts) are dropped first, an incoming one is refused while no other is
   * stored, and only then does the oldest record go whatever it is. Without it: oldest first.
   */
  expendable?: (msg: QueuedMessage) => boolean;
  /** Called when records are dropped (count of records, and why). */
  onDrop?: (count: number, reason: DropReason) => void;
  /** Append time source; Date.now by default. */
  clock?: () => number;
}

/**
 * Framing overhead per record: magic u16, length u32, CRC u32, seq u48, time u48, flags u8,
 * topic length u16.
 */
export const RECORD_OVERHEAD = 25;

export function recordSize(topic: string, payload: Uint8Array): number {
  return RECORD_OVERHEAD + Buffer.byteLength(topic) + payload.byteLength;
}

/**
 * Drop accounting shared by both queues. A record dropped for room while it was in flight may
 * still be acknowledged by the cloud: it counts as dropped until that acknowledgement (`commit`)
 * proves it delivered, and for good once a rewind means it will never be sent again.
 */
export class DropLedger {
  readonly counts: DropCounts;
  corruptBytes = 0;
  private inFlight = new Set<number>();

  constructor(
    initial: DropCounts = noDrops(),
    private readonly onDrop?: QueueLimits["onDrop"],
  ) {
    this.counts = { ...initial };
  }

  get total(): number {
    return DROP_REASONS.reduce((n, r) => n + this.counts[r], 0);
  }

  add(reason: DropReason, n: number): void {
    if (n <= 0) return;
    this.counts[reason] += n;
    this.onDrop?.(n, reason);
  }

  /** A record dropped for room after `next` handed it out. */
  droppedInFlight(seq: number): void {
    this.inFlight.add(seq);
    this.add("full", 1);
  }

  /** The cloud acknowledged everything up to `seq`: dropped-in-flight records among it arrived. */
  delivered(seq: number): void {
    if (!this.inFlight.size) return;
    for (const s of this.inFlight)
      if (s <= seq) {
        this.inFlight.delete(s);
        this.counts.full--;
      }
  }

  /** Nothing handed out will be acknowledged any more. */
  rewound(): void {
    this.inFlight.clear();
  }
}
