import {
  DropLedger,
  type MessageQueue,
  type QueuedMessage,
  type QueueEntry,
  type QueueLimits,
  type QueueStats,
  recordSize,
} from "./types.ts";

/** The queue in memory only: same bound and drop rules as the disk queue, lost on restart. */
export class MemoryQueue implements MessageQueue {
  private entries: QueueEntry[] = [];
  /** Index into `entries` of the oldest stored record (entries before it are garbage). */
  private head = 0;
  private cursor = 0;
  private nextSeq = 0;
  private bytes = 0;
  private appended = 0;
  private readonly ledger: DropLedger;
  private readonly clock: () => number;

  constructor(private readonly limits: QueueLimits) {
    this.ledger = new DropLedger(undefined, limits.onDrop);
    this.clock = limits.clock ?? Date.now;
  }

  append(msg: QueuedMessage): number | undefined {
    const size = recordSize(msg.topic, msg.payload);
    if (size > this.limits.maxBytes) {
      this.ledger.add("full", 1);
      return undefined;
    }
    while (this.bytes + size > this.limits.maxBytes && this.head < this.entries.length) {
      const old = this.entries[this.head]!;
      this.bytes -= old.size;
      if (this.head < this.cursor) this.ledger.droppedInFlight(old.seq);
      else this.ledger.add("full", 1);
      this.head++;
    }
    if (this.cursor < this.head) this.cursor = this.head;
    const seq = this.nextSeq++;
    this.entries.push({ ...msg, seq, size, time: this.clock() });
    this.bytes += size;
    this.appended++;
    this.compact();
    return seq;
  }

  next(): QueueEntry | undefined {
    const e = this.entries[this.cursor];
    if (e) this.cursor++;
    return e;
  }

  commit(seq: number): void {
    this.ledger.delivered(seq);
    while (this.head < this.entries.length && this.entries[this.head]!.seq <= seq) {
      this.bytes -= this.entries[this.head]!.size;
      this.head++;
    }
    if (this.cursor < this.head) this.cursor = this.head;
    this.compact();
  }

  rewind(): void {
    this.cursor = this.head;
    this.ledger.rewound();
  }

  stats(): QueueStats {
    return {
      depth: this.entries.length - this.head,
      bytes: this.bytes,
      unsent: this.entries.length - this.cursor,
      drops: this.ledger.total,
      dropped: { ...this.ledger.counts },
      corruptBytes: 0,
      appended: this.appended,
      oldestTime: this.entries[this.head]?.time,
    };
  }

  flush(): void {}

  close(): void {
    this.entries = [];
    this.head = this.cursor = this.bytes = 0;
  }

  /** Shifting an array per commit is O(n); drop the dead prefix in one go once it is large. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.cursor -= this.head;
      this.head = 0;
    }
  }
}
