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
  /** Entries before this index were offered to compaction already. */
  private compactedTo = 0;
  /** No unsent entry before this index is expendable. */
  private thinnedTo = 0;
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
    const expendable = this.limits.expendable?.(msg) ?? false;
    while (this.bytes + size > this.limits.maxBytes && this.head < this.entries.length) {
      if (this.compactUnsent() || this.thinUnsent(size)) continue;
      if (expendable) {
        // The newest measurement, and no older one is left to go instead of an event.
        this.ledger.add("full", 1);
        return undefined;
      }
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
    // What was handed out is unsent again and was never offered to thinning.
    this.thinnedTo = Math.min(this.thinnedTo, this.head);
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
      nextSeq: this.nextSeq,
      oldestTime: this.entries[this.head]?.time,
    };
  }

  flush(): void {}

  close(): void {
    this.entries = [];
    this.head = this.cursor = this.bytes = 0;
  }

  /** Folds the unsent records; true when it freed something. */
  private compactUnsent(): boolean {
    // Summaries fold again with newer records, but only once a quarter of the unsent part is new.
    const from = Math.max(this.cursor, this.head);
    const fresh = this.entries.length - Math.max(from, this.compactedTo);
    const fold = this.limits.compact;
    if (!fold || this.entries.length - from < 2 || fresh * 4 < this.entries.length - from) return false;
    const recs = this.entries.slice(from).map((e) => ({ seq: e.seq, time: e.time, msg: e }));
    const r = fold(recs);
    this.compactedTo = this.entries.length;
    if (r.folded <= 0) return false;
    const replaced = r.out.map((o) => ({
      ...o.msg,
      seq: o.seq,
      time: o.time,
      size: recordSize(o.msg.topic, o.msg.payload),
    }));
    for (const e of this.entries.slice(from)) this.bytes -= e.size;
    for (const e of replaced) this.bytes += e.size;
    this.entries.splice(from, this.entries.length - from, ...replaced);
    this.compactedTo = this.entries.length;
    // Its summaries are measurements again.
    this.thinnedTo = Math.min(this.thinnedTo, from);
    this.ledger.add("compacted", r.folded);
    return true;
  }

  /**
   * Drop priority (QueueLimits.expendable): drops the oldest unsent expendable entries, counted as
   * `full`, until `need` bytes and a sixty-fourth of the bound are free (the disk queue frees a
   * segment's worth), so one pass over the array serves many appends. True when it freed bytes.
   */
  private thinUnsent(need: number): boolean {
    const expendable = this.limits.expendable;
    if (!expendable) return false;
    const from = Math.max(this.cursor, this.head, this.thinnedTo);
    const target = this.bytes + need - this.limits.maxBytes + Math.floor(this.limits.maxBytes / 64);
    let freed = 0;
    let dropped = 0;
    const kept: QueueEntry[] = [];
    let i = from;
    for (; i < this.entries.length && freed < target; i++) {
      const e = this.entries[i]!;
      if (expendable(e)) {
        freed += e.size;
        dropped++;
      } else kept.push(e);
    }
    this.entries.splice(from, i - from, ...kept);
    this.thinnedTo = from + kept.length;
    this.compactedTo =
      this.compactedTo >= i ? this.compactedTo - dropped : Math.min(this.compactedTo, this.thinnedTo);
    if (!dropped) return false;
    this.bytes -= freed;
    this.ledger.add("full", dropped);
    return true;
  }

  /** Shifting an array per commit is O(n); drop the dead prefix in one go once it is large. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.cursor -= this.head;
      this.compactedTo = Math.max(0, this.compactedTo - this.head);
      this.thinnedTo = Math.max(0, this.thinnedTo - this.head);
      this.head = 0;
    }
  }
}
