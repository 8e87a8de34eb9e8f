import type { QoS, Will } from "../mqtt/packets.ts";
import type { Conn } from "./core.ts";
import { Deque } from "./deque.ts";
import { type Delivery, messageBytes } from "./message.ts";

/** One subscription of a session ([MQTT-3.8.3.1] options). */
export interface Subscription {
  /** As sent, `$share/<group>/` included. */
  filter: string;
  /** The topic filter proper (without `$share/<group>/`). */
  topicFilter: string;
  group?: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  id?: number;
}

/** A QoS 1/2 message sent and not yet acknowledged ([MQTT-4.3.2], [MQTT-4.3.3]). */
export interface Inflight {
  d: Delivery;
  /** What the broker waits for: PUBACK (QoS 1), PUBREC then PUBCOMP (QoS 2). */
  wait: "puback" | "pubrec" | "pubcomp";
}

/**
 * A client's session: subscriptions, messages waiting for it, messages in flight, and the QoS 2
 * packet ids it has sent and not yet released. Lives across connections unless clean.
 */
export class Session {
  readonly subs = new Map<string, Subscription>();
  /** The connection using the session, while one does. */
  conn?: Conn;
  readonly queue = new Deque<Delivery>();
  queuedBytes = 0;
  readonly inflight = new Map<number, Inflight>();
  /** QoS 2 packet ids received, PUBREC sent, PUBREL not yet received [MQTT-4.3.3-9]. */
  readonly incoming = new Set<number>();
  /** Session expiry interval (s) in force; 0xFFFFFFFF never expires [MQTT-3.1.2-23]. */
  expiry = 0;
  /** When a disconnected session ends (ms), unset while connected or never-expiring. */
  expiresAt?: number;
  /** A will waiting for its delay [MQTT-3.1.3-9]. */
  pendingWill?: { will: Will; at: number };
  /** Whether the session is kept on disk (not clean, expiry > 0). */
  persistent = false;
  /** Whether the store holds it (so its end must be recorded). */
  stored = false;
  private nextId = 1;

  constructor(readonly clientId: string) {}

  /** A packet id not in flight [MQTT-2.2.1-2]. */
  allocateId(): number {
    for (let n = 0; n < 65535; n++) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
    throw new Error("no free packet id");
  }

  enqueue(d: Delivery): void {
    this.queue.push(d);
    this.queuedBytes += messageBytes(d.msg);
  }

  dequeue(): Delivery | undefined {
    const d = this.queue.shift();
    if (d) this.queuedBytes -= messageBytes(d.msg);
    return d;
  }
}
