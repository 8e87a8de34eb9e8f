/**
 * The bridge's store-and-forward queue. Two implementations behave identically (one test suite
 * runs against both): `MemoryQueue` (lost on restart) and `DiskQueue` (segment files, survives
 * restart and `kill -9`).
 *
 * Life of a record: `append` (synchronous, so it is stored before the local publisher is
 * acknowledged) → `next` hands it out for sending, in order → `commit(seq)` once the cloud
 * acknowledged it and every record before it. `rewind` resends everything not committed (after
 * a lost connection). When the bytes of all records exceed the bound, the oldest are dropped and
 * counted.
 */
export interface QueuedMessage {
  topic: string;
  /** Kept as given (no copy): a CBOR frame can be queued as is. */
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
}

export interface QueueEntry extends QueuedMessage {
  /** Increasing (not necessarily contiguous) sequence number. */
  seq: number;
  /** Bytes it counts against the bound (its on-disk size). */
  size: number;
}

export interface QueueStats {
  /** Records stored and not yet committed (sent-but-unacknowledged included). */
  depth: number;
  bytes: number;
  /** Records not yet handed out by `next`. */
  unsent: number;
  /** Records dropped since the queue was created (persisted by the disk queue). */
  drops: number;
  appended: number;
}

export interface MessageQueue {
  /** Stores a message; returns its seq, or undefined when it alone is larger than the bound. */
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

export interface QueueLimits {
  maxBytes: number;
  /** Called when records are dropped to make room (count of records dropped by this append). */
  onDrop?: (count: number) => void;
}

/** Framing overhead per record: length u32, crc u32, flags u8, topic length u16. */
export const RECORD_OVERHEAD = 11;

export function recordSize(topic: string, payload: Uint8Array): number {
  return RECORD_OVERHEAD + Buffer.byteLength(topic) + payload.byteLength;
}
