import type { LocalSub } from "./conn.ts";
import type { Message } from "./message.ts";

/**
 * Deliveries to in-process subscribers (LocalBus): run one at a time in publish order, never
 * nested in another handler, so a handler that publishes does not overtake the message it handles.
 */
export class LocalDispatch {
  private readonly queue: [LocalSub, Message, boolean][] = [];
  private running = false;

  constructor(private readonly onError: (e: unknown, topic: string) => void) {}

  push(local: LocalSub, msg: Message, retained: boolean): void {
    this.queue.push([local, msg, retained]);
  }

  run(): void {
    if (this.running) return;
    this.running = true;
    try {
      for (let i = 0; i < this.queue.length; i++) {
        const [l, m, retained] = this.queue[i] as [LocalSub, Message, boolean];
        try {
          l.deliver(m, retained);
        } catch (e) {
          this.onError(e, m.topic);
        }
      }
    } finally {
      this.queue.length = 0;
      this.running = false;
    }
  }
}
