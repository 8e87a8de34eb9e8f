import type { BrokerCore, LocalSub } from "./broker/core.ts";
import { expired, type Message } from "./broker/message.ts";
import { SubIndex } from "./broker/sub-index.ts";
import type { Bus, BusMessage, MessageHandler, PublishOptions, Subscription } from "./bus.ts";
import { asBuffer } from "./payload.ts";
import { filterError, topicError } from "./topic-filter.ts";

/** Text payloads as UTF-8 bytes: in Bun several times cheaper than Buffer.from(string). */
const utf8 = new TextEncoder();

/**
 * The in-process fast path: components in the broker's own process publish into and subscribe
 * on the broker core directly, with no socket and no MQTT encoding. Remote subscribers see the
 * same messages (the core routes both alike).
 */
export class LocalBus implements Bus {
  /** The last topic published that passed `topicError`. */
  private lastTopic?: string;

  constructor(
    private readonly core: BrokerCore,
    private readonly onHandlerError: (e: unknown, topic: string) => void = () => {},
    private readonly clock: () => number = Date.now,
  ) {}

  publish(topic: string, payload: string | Uint8Array, opts: PublishOptions = {}): Promise<void> {
    try {
      this.publishNow(topic, payload, opts);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve();
  }

  publishNow(topic: string, payload: string | Uint8Array, opts: PublishOptions = {}): void {
    // A component publishes to one topic over and over (a mapper's output): checked once in a row.
    if (topic !== this.lastTopic) {
      const err = topicError(topic);
      if (err) throw new Error(err);
      this.lastTopic = topic;
    }
    const msg: Message = {
      topic,
      payload: typeof payload === "string" ? utf8.encode(payload) : payload,
      qos: opts.qos ?? 0,
      retain: opts.retain ?? false,
    };
    this.core.publish(msg, this.clock());
  }

  async subscribe(filters: string | string[], handler: MessageHandler): Promise<Subscription> {
    const list = Array.isArray(filters) ? filters : [filters];
    for (const f of list) {
      const err = filterError(f);
      if (err) throw new Error(err);
    }
    // One subscriber for every filter: a topic matching two of them is delivered once, as MQTT does per client.
    const local: LocalSub = {
      filters: list,
      deliver: (m, retained) =>
        this.call(handler, { topic: m.topic, payload: asBuffer(m.payload), retain: retained, qos: m.qos }),
    };
    this.core.subscribeLocal(local, this.clock());
    return { unsubscribe: async () => this.core.unsubscribeLocal(local) };
  }

  /** One pass over the retained store whatever the number of filters (a trie of the filters). */
  async retainedTopics(filters: string[]): Promise<string[]> {
    const index = new SubIndex<true>();
    for (const f of filters) {
      const err = filterError(f);
      if (err) throw new Error(err);
      index.add(f, true);
    }
    const out: string[] = [];
    const now = this.clock();
    for (const m of this.core.retained.all()) {
      if (expired(m, now)) continue;
      let hit = false;
      index.match(m.topic, () => {
        hit = true;
      });
      if (hit) out.push(m.topic);
    }
    return out;
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
