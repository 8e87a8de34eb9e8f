import { encode } from "../mqtt/encode.ts";
import type { Packet, Publish } from "../mqtt/packets.ts";
import { Reason } from "../mqtt/reason-codes.ts";
import type { Conn } from "./conn.ts";
import type { BrokerLimits } from "./limits.ts";
import { type Delivery, expired, outgoingProperties } from "./message.ts";
import type { BrokerMetrics } from "./metrics.ts";
import type { Session } from "./session.ts";
import type { BrokerStore } from "./store.ts";

/**
 * The way out to clients, per session: the in-flight window (receive maximum), the bounded
 * queue behind it, and the socket's high-water mark. A client that stops reading fills only its
 * own queue: its QoS 0 messages are dropped and counted, and once QoS 1/2 would pass the bound it
 * is disconnected (Quota exceeded). Nothing here waits, so no client delays another.
 */
export class Outbox {
  constructor(
    private readonly limits: BrokerLimits,
    private readonly metrics: BrokerMetrics,
    private readonly store: BrokerStore | undefined,
    private readonly onSlow: (conn: Conn, reason: number, message: string, now: number) => void,
  ) {}

  deliver(s: Session, d: Delivery, now: number): void {
    const conn = s.conn;
    const full = s.queue.length >= this.limits.maxQueued || s.queuedBytes >= this.limits.maxQueuedBytes;
    if (!conn) {
      if (d.qos === 0) {
        this.metrics.drop("offline_qos0");
        return;
      }
      if (full) {
        this.metrics.drop("queue_full");
        return;
      }
      s.enqueue(d);
      if (s.persistent) this.store?.enqueue(s, d);
      return;
    }
    if (s.queue.length > 0 || conn.blocked || (d.qos > 0 && s.inflight.size >= conn.window)) {
      if (!full) {
        s.enqueue(d);
        if (d.qos > 0 && s.persistent) this.store?.enqueue(s, d);
        return;
      }
      if (d.qos === 0) {
        this.metrics.drop("slow_client");
        return;
      }
      this.metrics.drop("queue_full");
      // The client does not keep up: its session keeps what it holds, the connection goes.
      this.onSlow(conn, Reason.QuotaExceeded, "too many messages queued for this client", now);
      return;
    }
    if (d.qos > 0 && s.persistent) this.store?.enqueue(s, d);
    this.transmit(conn, s, d, now);
  }

  /** Sends queued deliveries while the socket takes them and the in-flight window has room. */
  pump(s: Session, now: number): void {
    const conn = s.conn;
    if (!conn) return;
    while (!conn.blocked && !conn.closed) {
      const d = s.queue.peek();
      if (!d || (d.qos > 0 && s.inflight.size >= conn.window)) return;
      s.dequeue();
      this.transmit(conn, s, d, now);
    }
  }

  transmit(conn: Conn, s: Session, d: Delivery, now: number): void {
    if (expired(d.msg, now)) {
      this.metrics.drop("expired");
      if (d.qos > 0 && s.persistent) this.store?.done(s, d);
      return;
    }
    if (d.qos === 0) {
      this.sendPublish(conn, d, undefined, false, now);
      return;
    }
    const id = s.allocateId();
    s.inflight.set(id, { d, wait: d.qos === 1 ? "puback" : "pubrec" });
    if (!this.sendPublish(conn, d, id, false, now)) {
      s.inflight.delete(id);
      if (s.persistent) this.store?.done(s, d);
    }
  }

  /** False when the packet is over the client's maximum packet size (dropped [MQTT-3.1.2-25]). */
  sendPublish(conn: Conn, d: Delivery, packetId: number | undefined, dup: boolean, now: number): boolean {
    const properties = conn.version === 5 ? outgoingProperties(d, now) : undefined;
    const p: Publish = {
      type: "publish",
      topic: d.msg.topic,
      payload: d.msg.payload,
      qos: d.qos,
      retain: d.retain,
      dup,
    };
    if (packetId !== undefined) p.packetId = packetId;
    if (properties) p.properties = properties;
    const bytes = encode(p, conn.version);
    if (bytes.length > conn.peerMaxPacket) {
      this.metrics.drop("too_large_for_client");
      return false;
    }
    this.metrics.messagesOut++;
    this.write(conn, bytes);
    return true;
  }

  send(conn: Conn, p: Packet): void {
    this.write(conn, encode(p, conn.version));
  }

  write(conn: Conn, bytes: Uint8Array): void {
    if (conn.closed) return;
    this.metrics.bytesOut += bytes.length;
    if (!conn.link.write(bytes)) conn.blocked = true;
  }
}
