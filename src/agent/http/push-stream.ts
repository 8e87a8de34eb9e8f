/**
 * A body fed by pushes (the console's server-sent events), taken by the server as the client reads
 * it. What the client has not taken yet waits here; past `maxBacklog` bytes the stream ends instead
 * of growing (a page that stopped reading reconnects and starts again from a snapshot).
 */
export class PushStream implements AsyncIterable<string> {
  private queue: string[] = [];
  private queued = 0;
  private ended = false;
  private wake?: () => void;

  /** `onEnd` runs once, whether the stream was ended here, by its backlog or by the client. */
  constructor(
    private readonly maxBacklog: number,
    private readonly onEnd: () => void,
  ) {}

  /** False when the stream has ended (now or before): nothing more is sent. */
  push(text: string): boolean {
    if (this.ended) return false;
    if (this.queued + text.length > this.maxBacklog) {
      this.queue = [];
      this.queued = 0;
      this.end();
      return false;
    }
    this.queue.push(text);
    this.queued += text.length;
    this.wake?.();
    return true;
  }

  /** Sends what is queued, then ends. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
    this.wake?.();
  }

  get backlog(): number {
    return this.queued;
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: async () => {
        while (this.queue.length === 0 && !this.ended) await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        if (this.queue.length === 0) return { done: true, value: undefined };
        const text = this.queue.join("");
        this.queue = [];
        this.queued = 0;
        return { done: false, value: text };
      },
      // the client went away
      return: async () => {
        this.queue = [];
        this.queued = 0;
        this.end();
        return { done: true, value: undefined };
      },
    };
  }
}
