import { matches } from "../topic-filter.ts";
import { expired, type Message } from "./message.ts";

/** Retained messages by topic [MQTT-3.3.1-5]; an empty payload clears a topic [MQTT-3.3.1-10]. */
export class RetainedStore {
  private readonly byTopic = new Map<string, Message>();

  get size(): number {
    return this.byTopic.size;
  }

  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  /** Stores or clears; returns false when a new topic would pass `max` (not stored). */
  set(msg: Message, max: number): boolean {
    if (msg.payload.length === 0) {
      this.byTopic.delete(msg.topic);
      return true;
    }
    if (!this.byTopic.has(msg.topic) && this.byTopic.size >= max) return false;
    this.byTopic.set(msg.topic, msg);
    return true;
  }

  /** Retained messages matching `filter` at `now`, expired ones dropped on the way [MQTT-3.3.2-5]. */
  match(filter: string, now: number): Message[] {
    const out: Message[] = [];
    const exact = !filter.includes("+") && !filter.includes("#");
    if (exact) {
      const m = this.byTopic.get(filter);
      if (m && !this.expire(m, now)) out.push(m);
      return out;
    }
    for (const m of this.byTopic.values()) if (matches(filter, m.topic) && !this.expire(m, now)) out.push(m);
    return out;
  }

  private expire(m: Message, now: number): boolean {
    if (!expired(m, now)) return false;
    this.byTopic.delete(m.topic);
    return true;
  }

  all(): IterableIterator<Message> {
    return this.byTopic.values();
  }
}
