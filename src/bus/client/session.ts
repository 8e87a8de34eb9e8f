/**
 * The client side of an MQTT session as pure state, no sockets and no clock of its own (`now` is
 * passed in): outgoing QoS 1/2 messages through an in-flight window, what to resend on reconnect,
 * incoming QoS 2 ids, and the acknowledgements held back until this client's own publishes are
 * acknowledged (see `holdAck`).
 *
 * It lives as long as the client, across connections: with a persistent session the broker keeps
 * its half, and `resume` re-sends ours with DUP set [MQTT-4.4.0-1].
 */
import type { Ack, Packet, Properties, Publish, QoS } from "../mqtt/index.ts";
import { PacketIds } from "./packet-ids.ts";

export interface OutgoingMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

/** How a QoS 1/2 publish ended: the broker's reason code (0 or ≥ 0x80 for v5; 0 for 3.1.1). */
export interface Outcome {
  reasonCode: number;
  properties?: Properties;
}

export interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

interface InFlight {
  seq: number;
  msg: OutgoingMessage;
  id: number;
  /** `publish`: waiting for PUBACK/PUBREC; `pubrel`: PUBREL sent, waiting for PUBCOMP. */
  state: "publish" | "pubrel";
  sentAt: number;
  done: Pending<Outcome>;
}

interface Queued {
  seq: number;
  msg: OutgoingMessage;
  done: Pending<Outcome>;
}

export interface AckResult {
  /** The publish this ack finished, with its outcome (undefined: not finished yet, or unknown id). */
  finished?: { done: Pending<Outcome>; outcome: Outcome };
  /** Packets to send in answer (PUBREL for a PUBREC). */
  reply?: Packet;
}

export class Session {
  readonly ids = new PacketIds();
  private readonly inFlight = new Map<number, InFlight>();
  private readonly queue: Queued[] = [];
  private seq = 0;
  /** Incoming QoS 2 ids between PUBLISH and PUBREL: a resent PUBLISH is not delivered twice [MQTT-4.3.3-2]. */
  private readonly incomingQos2 = new Set<number>();
  /** Acks to incoming messages, each released once every own publish up to `after` is finished. */
  private held: { after: number; ack: Ack }[] = [];

  /** `window`: how many QoS 1/2 publishes may await their ack at once (v5: the broker's receive maximum). */
  constructor(
    public window = 65_535,
    readonly maxQueued = 100_000,
  ) {}

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  /** Queues a message; `takeOne` hands it out in order, QoS 1/2 only while the window has room. */
  enqueue(msg: OutgoingMessage, done: Pending<Outcome>): void {
    if (this.queue.length >= this.maxQueued) {
      done.reject(new Error(`publish queue full (${this.maxQueued} messages): broker unreachable?`));
      return;
    }
    this.queue.push({ seq: ++this.seq, msg, done });
  }

  /**
   * The next PUBLISH to send, or undefined when the queue is empty or its head waits for room in
   * the window. A QoS 0 message comes with its `done`, to resolve once written; QoS 1/2 ones are
   * now in flight.
   */
  takeOne(now: number): { packet: Publish; done?: Pending<Outcome> } | undefined {
    const head = this.queue[0];
    if (!head) return undefined;
    if (head.msg.qos === 0) {
      this.queue.shift();
      return { packet: publishPacket(head.msg, undefined, false), done: head.done };
    }
    if (this.inFlight.size >= this.window) return undefined;
    const id = this.ids.take();
    if (id === undefined) return undefined;
    this.queue.shift();
    this.inFlight.set(id, {
      seq: head.seq,
      msg: head.msg,
      id,
      state: "publish",
      sentAt: now,
      done: head.done,
    });
    return { packet: publishPacket(head.msg, id, false) };
  }

  /** After (re)connecting: what was in flight, in the order it was first sent, PUBLISH with DUP or PUBREL. */
  resume(now: number): Packet[] {
    const list = [...this.inFlight.values()].sort((a, b) => a.seq - b.seq);
    this.held = []; // those acks answered packets of the lost connection; the broker resends them
    return list.map((f) => {
      f.sentAt = now;
      return f.state === "pubrel"
        ? ({ type: "pubrel", packetId: f.id, reasonCode: 0 } satisfies Ack)
        : publishPacket(f.msg, f.id, true);
    });
  }

  /** A PUBACK, PUBREC or PUBCOMP from the broker. */
  ack(p: Ack, now: number): AckResult {
    const f = this.inFlight.get(p.packetId);
    if (!f) {
      // a PUBREC for a message we no longer know (e.g. the process restarted): release the broker's side
      return p.type === "pubrec" ? { reply: { type: "pubrel", packetId: p.packetId, reasonCode: 0x92 } } : {};
    }
    const outcome: Outcome = { reasonCode: p.reasonCode, properties: p.properties };
    if (p.type === "pubrec" && p.reasonCode < 0x80 && f.msg.qos === 2) {
      f.state = "pubrel";
      f.sentAt = now;
      return { reply: { type: "pubrel", packetId: f.id, reasonCode: 0 } };
    }
    this.inFlight.delete(p.packetId);
    this.ids.release(p.packetId);
    return { finished: { done: f.done, outcome } };
  }

  /** When the oldest ack we are waiting for was asked for (undefined: nothing in flight). */
  oldestSentAt(): number | undefined {
    let oldest: number | undefined;
    for (const f of this.inFlight.values()) if (oldest === undefined || f.sentAt < oldest) oldest = f.sentAt;
    return oldest;
  }

  /**
   * An incoming PUBLISH: whether to deliver it (a QoS 2 message resent before its PUBREL is not),
   * and the ack it needs (if any), which goes through `holdAck`.
   */
  incoming(p: Publish): { deliver: boolean; ack?: Ack } {
    if (p.qos === 0 || p.packetId === undefined) return { deliver: true };
    if (p.qos === 1) return { deliver: true, ack: { type: "puback", packetId: p.packetId, reasonCode: 0 } };
    const seen = this.incomingQos2.has(p.packetId);
    this.incomingQos2.add(p.packetId);
    return { deliver: !seen, ack: { type: "pubrec", packetId: p.packetId, reasonCode: 0 } };
  }

  /** A PUBREL: the broker is done with that QoS 2 id; answer PUBCOMP (0x92 if we never saw it). */
  release(packetId: number): Ack {
    const known = this.incomingQos2.delete(packetId);
    return { type: "pubcomp", packetId, reasonCode: known ? 0 : 0x92 };
  }

  /**
   * Holds back the ack of an incoming message until every QoS 1/2 message this client published
   * before the ack was due is acknowledged by the broker. A handler that republishes what it
   * receives (a mapper) thus never acknowledges its input before its output is safe: a component
   * killed in between gets the input again from its persistent session. Returns the acks that can
   * go now.
   */
  holdAck(ack: Ack): Ack[] {
    this.held.push({ after: this.seq, ack });
    return this.releasable();
  }

  /** Held acks whose publishes are all finished (call after an ack finished one). */
  releasable(): Ack[] {
    if (this.held.length === 0) return [];
    const unfinished = this.lowestUnfinishedSeq();
    let n = 0;
    while (n < this.held.length && (this.held[n] as { after: number }).after < unfinished) n++;
    return n === 0 ? [] : this.held.splice(0, n).map((h) => h.ack);
  }

  /** Drops everything (a stop): the callers of unfinished publishes get `error`. */
  failAll(error: Error): void {
    for (const f of this.inFlight.values()) f.done.reject(error);
    for (const q of this.queue) q.done.reject(error);
    this.inFlight.clear();
    this.queue.length = 0;
    this.held = [];
    this.ids.clear();
  }

  private lowestUnfinishedSeq(): number {
    let low = this.queue[0]?.seq ?? Number.POSITIVE_INFINITY;
    for (const f of this.inFlight.values()) if (f.seq < low) low = f.seq;
    return low;
  }
}

export function publishPacket(m: OutgoingMessage, packetId: number | undefined, dup: boolean): Publish {
  return {
    type: "publish",
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    dup,
    packetId,
    properties: m.properties,
  };
}
