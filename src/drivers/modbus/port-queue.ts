/**
 * One queue per port (serial line or TCP endpoint): jobs run one at a time, in order. Bounded by
 * construction: a key (a device's poll, one write) can be queued at most once, and at most
 * `capacity` jobs wait; an enqueue beyond that is refused and counted, never buffered.
 */
export type EnqueueResult = "queued" | "busy" | "full" | "closed";

/** A job may hand back a follow-up (a retry) that goes to the back of the queue under its key. */
// biome-ignore lint/suspicious/noConfusingVoidType: plain jobs return nothing
export type JobFn = () => Promise<JobFn | undefined | void>;

interface Job {
  key: string;
  run: JobFn;
}

export class PortQueue {
  private readonly waiting: Job[] = [];
  private readonly keys = new Set<string>();
  private running: Promise<void> | undefined;
  private closed = false;
  /** Enqueues refused because the same key was still pending (a late poll) or the queue was full. */
  skipped = 0;

  constructor(
    readonly name: string,
    /** Jobs that may wait; grows with the devices and write slots of the endpoint. */
    public capacity: number,
    private readonly onError: (key: string, err: unknown) => void = () => {},
  ) {}

  get size(): number {
    return this.waiting.length;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  enqueue(key: string, run: JobFn): EnqueueResult {
    if (this.closed) return "closed";
    if (this.keys.has(key)) {
      this.skipped++;
      return "busy";
    }
    if (this.waiting.length >= this.capacity) {
      this.skipped++;
      return "full";
    }
    this.keys.add(key);
    this.waiting.push({ key, run });
    if (!this.running) this.running = this.pump();
    return "queued";
  }

  private async pump(): Promise<void> {
    for (let job = this.waiting.shift(); job; job = this.waiting.shift()) {
      let follow: JobFn | undefined;
      try {
        follow = (await job.run()) ?? undefined;
      } catch (e) {
        this.onError(job.key, e);
      }
      // the key stays reserved for the follow-up, so a poll due meanwhile is counted as skipped
      if (follow && !this.closed) this.waiting.push({ key: job.key, run: follow });
      else this.keys.delete(job.key);
      if (this.closed) break;
    }
    this.running = undefined;
  }

  /** Drops waiting jobs and waits for the running one to end. */
  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.waiting.splice(0)) this.keys.delete(j.key);
    await this.running;
  }
}
