import type { Aedes } from "aedes";
import type { Bus, BusMessage, MessageHandler, PublishOptions, QoS, Subscription } from "./bus.ts";
import { filterError, topicError } from "./topic-filter.ts";

type Deliver = (
  packet: { topic: string; payload: Buffer | string; qos?: number; retain?: boolean },
  cb: () => void,
) => void;

interface RetainedSource {
  createRetainedStreamCombi(
    patterns: string[],
  ): AsyncIterable<{ topic: string; payload: Buffer; qos: number }>;
}

/**
 * The in-process fast path: components in the broker's own process publish and subscribe through
 * aedes's API, with no socket and no MQTT encoding. Remote subscribers see the same messages.
 */
export class LocalBus implements Bus {
  constructor(
    private readonly aedes: Aedes,
    private readonly onHandlerError: (e: unknown, topic: string) => void = () => {},
  ) {}

  publish(topic: string, payload: string | Uint8Array, opts: PublishOptions = {}): Promise<void> {
    const err = topicError(topic);
    if (err) return Promise.reject(new Error(err));
    const buf =
      typeof payload === "string"
        ? Buffer.from(payload)
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return new Promise((resolve, reject) => {
      this.aedes.publish(
        { cmd: "publish", topic, payload: buf, qos: opts.qos ?? 0, retain: opts.retain ?? false, dup: false },
        (e?: Error) => (e ? reject(e) : resolve()),
      );
    });
  }

  async subscribe(filters: string | string[], handler: MessageHandler): Promise<Subscription> {
    const list = Array.isArray(filters) ? filters : [filters];
    for (const f of list) {
      const err = filterError(f);
      if (err) throw new Error(err);
    }
    // One handler for every filter: a topic matching two of them is delivered once, as MQTT does per client.
    const seen = new WeakSet<object>();
    const deliver: Deliver = (packet, cb) => {
      // mqemitter drains its backlog from this callback: completing synchronously would recurse
      // once per queued message and overflow the stack in a burst (seen on Bun).
      if (packet.topic.startsWith("$") || seen.has(packet)) return queueMicrotask(cb);
      seen.add(packet);
      this.call(handler, {
        topic: packet.topic,
        payload: typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload,
        retain: false,
        qos: (packet.qos ?? 0) as QoS,
      });
      queueMicrotask(cb);
    };
    await Promise.all(
      list.map((f) => new Promise<void>((resolve) => this.aedes.subscribe(f, deliver, resolve))),
    );
    const retained = (this.aedes as unknown as { persistence: RetainedSource }).persistence;
    for await (const packet of retained.createRetainedStreamCombi(list)) {
      this.call(handler, {
        topic: packet.topic,
        payload: packet.payload,
        retain: true,
        qos: (packet.qos ?? 0) as QoS,
      });
    }
    return {
      unsubscribe: async () => {
        await Promise.all(
          list.map((f) => new Promise<void>((resolve) => this.aedes.unsubscribe(f, deliver, resolve))),
        );
      },
    };
  }

  /** A throwing handler costs its message, never the delivery loop or the subscribe() call. */
  private call(handler: MessageHandler, msg: BusMessage): void {
    try {
      handler(msg);
    } catch (e) {
      this.onHandlerError(e, msg.topic);
    }
  }

  async withWill(): Promise<Bus> {
    return this;
  }

  async close(): Promise<void> {}
}
