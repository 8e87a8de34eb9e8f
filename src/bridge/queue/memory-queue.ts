import {
  type MessageQueue,
  type QueuedMessage,
  type QueueEntry,
  type QueueLimits,
  type QueueStats,
  recordSize,
} from "./types.ts";

/** The queue in memory only: same bound and drop rule as the disk queue, lost on restart. */
export class MemoryQueue implements MessageQueue {
  private entries: QueueEntry[] = [];
  /** Index into `entries` of the oldest stored record (entries before it are garbage). */
  private head = 0;
  private cursor = 0;
  private nextSeq = 0;
  private bytes = 0;
  private drops = 0;
  private appended = 0;

  constructor(private readonly limits: QueueLimits) {}

  append(msg: QueuedMessage): number | undefined {
    const size = recordSize(msg.topic, msg.payload);
    if (size > this.limits.maxBytes) {
      this.dropped(1);
      return undefined;
    }
    let dropped = 0;
    while (this.bytes + size > this.limits.maxBytes && this.head < this.entries.length) {
      this.bytes -= this.entries[this.head]!.size;
      this.head++;
      dropped++;
    }
    if (this.cursor < this.head) this.cursor = this.head;
    if (dropped) this.dropped(dropped);
    const seq = this.nextSeq++;
    this.entries.push({ ...msg, seq, size });
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
    while (this.head < this.entries.length && this.entries[this.head]!.seq <= seq) {
      this.bytes -= this.entries[this.head]!.size;
      this.head++;
    }
    if (this.cursor < this.head) this.cursor = this.head;
    this.compact();
  }

  rewind(): void {
    this.cursor = this.head;
  }

  stats(): QueueStats {
    return {
      depth: this.entries.length - this.head,
      bytes: this.bytes,
      unsent: this.entries.length - this.cursor,
      drops: this.drops,
      appended: this.appended,
    };
  }

  flush(): void {}

  close(): void {
    this.entries = [];
    this.head = this.cursor = this.bytes = 0;
  }

  private dropped(n: number): void {
    this.drops += n;
    this.limits.onDrop?.(n);
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
