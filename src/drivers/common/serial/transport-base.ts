import { EventEmitter } from "node:events";
import type { SerialSettings, SerialTransport } from "./transport.ts";

/**
 * Shared bookkeeping for both implementations: one `close` event, `onData` unsubscription, and a
 * default `error` listener so an unobserved port error never crashes the process.
 */
export abstract class BaseTransport extends EventEmitter implements SerialTransport {
  abstract readonly kind: "node" | "bun";
  protected closed = false;

  constructor(readonly settings: SerialSettings) {
    super();
    this.on("error", () => {});
  }

  get path(): string {
    return this.settings.path;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  onData(cb: (chunk: Buffer) => void): () => void {
    this.on("data", cb);
    return () => this.off("data", cb);
  }

  /** Called by implementations exactly when the port stops being usable. */
  protected markClosed(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (err) this.emit("close", err);
    else this.emit("close");
  }

  abstract write(data: Uint8Array): Promise<void>;
  abstract close(): Promise<void>;
}
