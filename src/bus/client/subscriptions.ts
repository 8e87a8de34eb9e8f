/**
 * The client's subscriptions and its SUBSCRIBE/UNSUBSCRIBE requests awaiting their ack. What is
 * subscribed is remembered so that a reconnect whose CONNACK says the broker has no session for us
 * (clean session, expired, broker restarted without persistence) subscribes again; requests not
 * acknowledged on a lost connection are sent again on the next.
 */
import type {
  Packet,
  Properties,
  Suback,
  Subscribe,
  SubscriptionRequest,
  Unsuback,
  Unsubscribe,
} from "../mqtt/index.ts";
import type { PacketIds } from "./packet-ids.ts";
import type { Pending } from "./session.ts";

interface Op {
  packet: Subscribe | Unsubscribe;
  done: Pending<number[]>;
  sentAt?: number;
}

export class Subscriptions {
  /** filter → how it was last subscribed (a v5 subscription identifier travels in `properties`). */
  private readonly active = new Map<string, { req: SubscriptionRequest; properties?: Properties }>();
  private readonly ops = new Map<number, Op>();

  constructor(
    private readonly ids: PacketIds,
    private readonly send: (p: Packet) => void,
  ) {}

  get filters(): string[] {
    return [...this.active.keys()];
  }

  /** Resolves with the SUBACK's codes, one per request: granted QoS, or a failure (≥ 0x80). */
  subscribe(
    reqs: SubscriptionRequest[],
    properties: Properties | undefined,
    connected: boolean,
    now: number,
  ) {
    for (const req of reqs) this.active.set(req.filter, { req, properties });
    return this.request({ type: "subscribe", packetId: 0, subscriptions: reqs, properties }, connected, now);
  }

  unsubscribe(filters: string[], connected: boolean, now: number): Promise<number[]> {
    for (const f of filters) this.active.delete(f);
    return this.request({ type: "unsubscribe", packetId: 0, filters }, connected, now);
  }

  /** After a CONNACK without a session: queue SUBSCRIBEs for everything (one per properties, so per subscription identifier). */
  restore(now: number): void {
    const pending = new Set<string>();
    for (const op of this.ops.values())
      if (op.packet.type === "subscribe") for (const s of op.packet.subscriptions) pending.add(s.filter);
    const groups = new Map<Properties | undefined, SubscriptionRequest[]>();
    for (const [filter, { req, properties }] of this.active) {
      if (pending.has(filter)) continue;
      const g = groups.get(properties);
      if (g) g.push(req);
      else groups.set(properties, [req]);
    }
    for (const [properties, subscriptions] of groups)
      void this.request({ type: "subscribe", packetId: 0, subscriptions, properties }, false, now).catch(
        () => {},
      );
  }

  /** (Re)sends every request not acknowledged yet, on a new connection. */
  resend(now: number): void {
    for (const op of this.ops.values()) {
      op.sentAt = now;
      this.send(op.packet);
    }
  }

  acked(p: Suback | Unsuback): void {
    const op = this.ops.get(p.packetId);
    if (!op || op.packet.type !== (p.type === "suback" ? "subscribe" : "unsubscribe")) return;
    this.ops.delete(p.packetId);
    this.ids.release(p.packetId);
    op.done.resolve(p.reasonCodes);
  }

  oldestSentAt(): number | undefined {
    let oldest: number | undefined;
    for (const op of this.ops.values())
      if (op.sentAt !== undefined && (oldest === undefined || op.sentAt < oldest)) oldest = op.sentAt;
    return oldest;
  }

  failAll(error: Error): void {
    for (const op of this.ops.values()) op.done.reject(error);
    this.ops.clear();
  }

  private request(packet: Subscribe | Unsubscribe, connected: boolean, now: number): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      const id = this.ids.take();
      if (id === undefined) return reject(new Error("no free packet identifier (65,535 requests pending)"));
      packet.packetId = id;
      const op: Op = { packet, done: { resolve, reject } };
      this.ops.set(id, op);
      if (connected) {
        op.sentAt = now;
        this.send(packet);
      }
    });
  }
}
