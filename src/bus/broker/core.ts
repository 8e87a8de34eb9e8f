import { encode } from "../mqtt/encode.ts";
import type { Ack, Connect, Disconnect, Packet, Publish, Subscribe, Unsubscribe } from "../mqtt/packets.ts";
import { connackCodeV4, type ProtocolError, Reason } from "../mqtt/reason-codes.ts";
import { Conn, type LocalSub } from "./conn.ts";
import { admit, connackProperties, decideConnect } from "./connect.ts";
import { topicNameError } from "./filters.ts";
import type { BrokerLimits } from "./limits.ts";
import type { Link } from "./link.ts";
import { LocalDispatch } from "./local.ts";
import { type Delivery, forwardedProperties, type Message } from "./message.ts";
import { BrokerMetrics } from "./metrics.ts";
import { Outbox } from "./outbox.ts";
import { RetainedStore } from "./retained.ts";
import { Router } from "./router.ts";
import { Session } from "./session.ts";
import type { BrokerStore } from "./store.ts";
import { checkRequest, retainedFor } from "./subscribe.ts";
import { willAction, willMessage } from "./will.ts";

export { Conn, type LocalSub } from "./conn.ts";

/** Time a connection may take to send CONNECT. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The broker as a state machine: packets in, encoded packets out through each connection's
 * `Link`, no sockets, no timers (the caller passes `now` and calls `tick`). Everything about MQTT
 * semantics lives here; the socket edge (broker.ts) only moves bytes.
 */
export class BrokerCore {
  readonly retained = new RetainedStore();
  readonly sessions = new Map<string, Session>();
  readonly conns = new Set<Conn>();
  readonly metrics = new BrokerMetrics();
  private readonly router = new Router();
  private readonly out: Outbox;
  private readonly local: LocalDispatch;
  private connected = 0;

  constructor(
    readonly limits: BrokerLimits,
    private readonly store?: BrokerStore,
    onLocalError: (e: unknown, topic: string) => void = () => {},
  ) {
    this.local = new LocalDispatch(onLocalError);
    this.out = new Outbox(limits, this.metrics, store, (conn, reason, message, now) => {
      this.metrics.disconnectsSlow++;
      this.kill(conn, reason, message, now);
    });
  }

  get clients(): number {
    return this.connected;
  }

  // ---- connection lifecycle (called by the socket edge)

  open(link: Link, now: number): Conn {
    const conn = new Conn(link, now);
    this.conns.add(conn);
    return conn;
  }

  receive(conn: Conn, p: Packet, now: number): void {
    if (conn.closed) return;
    conn.lastSeen = now;
    if (!conn.connected) {
      if (p.type === "connect") {
        this.onConnect(conn, p, now);
        return;
      }
      this.kill(conn, Reason.ProtocolError, "first packet must be CONNECT [MQTT-3.1.0-1]", now);
      return;
    }
    switch (p.type) {
      case "publish":
        this.onPublish(conn, p, now);
        return;
      case "puback":
      case "pubcomp":
        this.onAck(conn, p.packetId, p.type === "puback" ? "puback" : "pubcomp", now);
        return;
      case "pubrec":
        this.onPubrec(conn, p.packetId, p.reasonCode, now);
        return;
      case "pubrel": {
        const s = conn.session as Session;
        const known = s.incoming.delete(p.packetId);
        this.out.send(conn, {
          type: "pubcomp",
          packetId: p.packetId,
          reasonCode: known ? 0 : Reason.PacketIdentifierNotFound,
        });
        return;
      }
      case "subscribe":
        this.onSubscribe(conn, p, now);
        return;
      case "unsubscribe":
        this.onUnsubscribe(conn, p);
        return;
      case "pingreq":
        this.out.send(conn, { type: "pingresp" });
        return;
      case "disconnect":
        this.onDisconnect(conn, p, now);
        return;
      case "connect":
        this.kill(conn, Reason.ProtocolError, "second CONNECT [MQTT-3.1.0-2]", now);
        return;
      default:
        this.kill(conn, Reason.ProtocolError, `unexpected ${p.type} from a client`, now);
        return;
    }
  }

  /** The decoder refused the input: answer with the reason where the protocol allows, then close. */
  fail(conn: Conn, err: ProtocolError, now: number): void {
    if (conn.closed) return;
    if (!conn.connected && err.reasonCode === Reason.UnsupportedProtocolVersion) {
      // [MQTT-3.1.2-2] CONNACK 0x01 (3.1.1 form) for a level the broker does not speak
      conn.link.write(encode({ type: "connack", sessionPresent: false, reasonCode: 1 }, 4));
      this.metrics.connectionsRefused++;
    }
    this.kill(conn, err.reasonCode, err.message, now);
  }

  /** The socket is writable again: send what waited. */
  drained(conn: Conn, now: number): void {
    conn.blocked = false;
    if (conn.session?.conn === conn) this.out.pump(conn.session, now);
  }

  /** The socket closed (or the core closed it). Idempotent. */
  closed(conn: Conn, now: number): void {
    if (!this.conns.delete(conn)) return;
    conn.closed = true;
    if (!conn.connected) return;
    this.connected--;
    const s = conn.session as Session;
    if (conn.will && !conn.normal && willAction(s, conn.will, now, s.conn !== conn) === "now")
      this.publish(willMessage(s.clientId, conn.will, now), now);
    if (s.conn !== conn) return; // taken over: the session lives on with the new connection
    s.conn = undefined;
    if (s.expiry === 0) this.endSession(s, now);
    else if (s.expiry !== 0xffffffff) s.expiresAt = now + s.expiry * 1000;
  }

  /** Keepalive, CONNECT timeout, will delays, session and message expiry. Call about once a second. */
  tick(now: number): void {
    for (const c of this.conns) {
      if (!c.connected) {
        if (now - c.lastSeen > CONNECT_TIMEOUT_MS) this.kill(c, Reason.MaximumConnectTime, "no CONNECT", now);
      } else if (c.keepalive > 0 && now - c.lastSeen > c.keepalive * 1500) {
        // [MQTT-3.1.2-22] one and a half times the keep alive without a packet
        this.kill(c, Reason.KeepAliveTimeout, "keep alive timeout", now);
      }
    }
    for (const s of this.sessions.values()) {
      if (s.conn) continue;
      if (s.pendingWill && s.pendingWill.at <= now) {
        const { will } = s.pendingWill;
        s.pendingWill = undefined;
        this.publish(willMessage(s.clientId, will, now), now);
      }
      if (s.expiresAt !== undefined && s.expiresAt <= now) this.endSession(s, now);
    }
  }

  // ---- in-process API (LocalBus)

  publish(msg: Message, now: number): void {
    this.metrics.messagesIn++;
    if (msg.retain) this.retain(msg);
    this.route(msg, now);
  }

  subscribeLocal(local: LocalSub, now: number): void {
    this.router.addLocal(local);
    const seen = new Set<string>();
    for (const f of local.filters)
      for (const m of this.retained.match(f, now)) {
        if (seen.has(m.topic)) continue;
        seen.add(m.topic);
        this.local.push(local, m, true);
      }
    this.local.run();
  }

  unsubscribeLocal(local: LocalSub): void {
    this.router.removeLocal(local);
  }

  /** Restores state loaded from disk (before any connection). */
  restore(retained: Message[], sessions: Session[]): void {
    for (const m of retained) this.retained.set(m, Number.POSITIVE_INFINITY);
    for (const s of sessions) {
      s.stored = true;
      this.sessions.set(s.clientId, s);
      for (const sub of s.subs.values()) this.router.add(s, sub);
    }
  }

  // ---- packets

  private onConnect(conn: Conn, c: Connect, now: number): void {
    conn.version = c.protocolVersion;
    const d = decideConnect(c, this.limits, now);
    const a =
      d.reason !== 0
        ? { reason: d.reason, message: d.message }
        : admit(c, conn.link, this.limits, this.connected);
    const { reason, message } = a;
    if ("user" in a) conn.user = a.user;
    if (reason !== 0) {
      this.metrics.connectionsRefused++;
      const properties = c.protocolVersion === 5 && message ? { reasonString: message } : undefined;
      this.out.send(conn, {
        type: "connack",
        sessionPresent: false,
        reasonCode: c.protocolVersion === 5 ? reason : connackCodeV4(reason),
        ...(properties && { properties }),
      });
      this.kill(conn, 0, undefined, now, false);
      return;
    }
    let s = this.sessions.get(d.clientId);
    const old = s?.conn;
    if (old) this.kill(old, Reason.SessionTakenOver, "another connection took the session over", now);
    if (s && c.clean) {
      this.endSession(s, now);
      s = undefined;
    }
    const present = s !== undefined;
    if (!s) {
      s = new Session(d.clientId);
      this.sessions.set(d.clientId, s);
    }
    s.expiry = d.expiry;
    s.expiresAt = undefined;
    s.pendingWill = undefined; // [MQTT-3.1.3-9] a reconnect before the will delay cancels the will
    s.conn = conn;
    const wasPersistent = s.persistent;
    s.persistent = d.expiry > 0;
    if (s.persistent || wasPersistent) this.persist(s);
    conn.session = s;
    conn.connected = true;
    this.connected++;
    conn.keepalive = c.keepalive;
    conn.will = c.will;
    conn.window = Math.min(this.limits.maxInflight, c.properties?.receiveMaximum ?? 65535);
    conn.peerMaxPacket = c.properties?.maximumPacketSize ?? Number.POSITIVE_INFINITY;
    const properties = connackProperties(d, c, this.limits);
    this.out.send(conn, {
      type: "connack",
      sessionPresent: present,
      reasonCode: 0,
      ...(properties && { properties }),
    });
    // [MQTT-4.4.0-1] resend unacknowledged PUBLISH (DUP) and PUBREL in their original order
    for (const [id, f] of s.inflight) {
      if (f.wait === "pubcomp") this.out.send(conn, { type: "pubrel", packetId: id, reasonCode: 0 });
      else this.out.sendPublish(conn, f.d, id, true, now);
    }
    this.out.pump(s, now);
  }

  private onDisconnect(conn: Conn, p: Disconnect, now: number): void {
    const s = conn.session as Session;
    const expiry = p.properties?.sessionExpiryInterval;
    if (expiry !== undefined) {
      // [MQTT-3.14.2-2] a session opened with expiry 0 cannot be given one at DISCONNECT
      if (s.expiry === 0 && expiry !== 0) {
        this.kill(conn, Reason.ProtocolError, "session expiry set at DISCONNECT after 0 at CONNECT", now);
        return;
      }
      s.expiry = Math.min(expiry, this.limits.maxSessionExpiry);
      s.persistent = s.expiry > 0;
    }
    conn.normal = p.reasonCode !== Reason.DisconnectWithWill;
    this.kill(conn, 0, undefined, now, false);
  }

  private onPublish(conn: Conn, p: Publish, now: number): void {
    const s = conn.session as Session;
    this.metrics.messagesIn++;
    let topic = p.topic;
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) {
      // [MQTT-3.3.2-9] [MQTT-3.3.2-10] an alias within the broker's maximum, never 0
      if (alias === 0 || alias > this.limits.topicAliasMaximum) {
        this.kill(conn, Reason.TopicAliasInvalid, `topic alias ${alias} out of range`, now);
        return;
      }
      if (topic) conn.aliases.set(alias, topic);
      else {
        const known = conn.aliases.get(alias);
        if (known === undefined) {
          this.kill(conn, Reason.ProtocolError, `unknown topic alias ${alias}`, now);
          return;
        }
        topic = known;
      }
    }
    if (!topic) {
      this.kill(conn, Reason.ProtocolError, "empty topic name [MQTT-4.7.3-1]", now);
      return;
    }
    let refuse = 0;
    const err = topicNameError(topic, this.limits.maxTopicLevels);
    if (err) {
      refuse = Reason.TopicNameInvalid;
      this.metrics.drop("topic_invalid");
    } else if (conn.link.policy && !conn.link.policy.canPublish(conn.user, topic)) {
      refuse = Reason.NotAuthorized;
      this.metrics.drop("not_authorized");
    }
    if (p.qos === 2 && s.incoming.has(p.packetId as number)) {
      // a resent QoS 2 PUBLISH already routed: acknowledge only [MQTT-4.3.3-10]
      this.out.send(conn, { type: "pubrec", packetId: p.packetId as number, reasonCode: 0 });
      return;
    }
    if (!refuse) {
      const interval = p.properties?.messageExpiryInterval;
      const msg: Message = { topic, payload: p.payload, qos: p.qos, retain: p.retain, from: s.clientId };
      const props = forwardedProperties(p.properties);
      if (props) msg.properties = props;
      if (interval !== undefined) msg.expiresAt = now + interval * 1000;
      if (msg.retain) this.retain(msg);
      this.route(msg, now);
    }
    // A refused QoS 1/2 message is still acknowledged (with the reason for v5), so the client
    // does not resend it on every reconnect; 3.1.1 has no way to say why.
    if (p.qos === 0) return;
    const ack: Ack = {
      type: p.qos === 1 ? "puback" : "pubrec",
      packetId: p.packetId as number,
      reasonCode: 0,
    };
    if (conn.version === 5 && refuse) {
      ack.reasonCode = refuse;
      ack.properties = { reasonString: err ?? "not authorized" };
    }
    if (p.qos === 2 && !refuse) s.incoming.add(p.packetId as number);
    this.out.send(conn, ack);
  }

  private onAck(conn: Conn, id: number, kind: "puback" | "pubcomp", now: number): void {
    const s = conn.session as Session;
    const f = s.inflight.get(id);
    if (!f || f.wait !== kind) return;
    s.inflight.delete(id);
    if (s.persistent) this.store?.done(s, f.d);
    this.out.pump(s, now);
  }

  private onPubrec(conn: Conn, id: number, reasonCode: number, now: number): void {
    const s = conn.session as Session;
    const f = s.inflight.get(id);
    if (f?.wait !== "pubrec") {
      this.out.send(conn, { type: "pubrel", packetId: id, reasonCode: Reason.PacketIdentifierNotFound });
      return;
    }
    if (reasonCode >= 0x80) {
      this.onAck(conn, id, "puback", now);
      return;
    }
    f.wait = "pubcomp";
    this.out.send(conn, { type: "pubrel", packetId: id, reasonCode: 0 });
  }

  private onSubscribe(conn: Conn, p: Subscribe, now: number): void {
    const s = conn.session as Session;
    const v5 = conn.version === 5;
    const id = p.properties?.subscriptionIdentifiers?.[0];
    const codes: number[] = [];
    const retained: Delivery[] = [];
    const policy = conn.link.policy;
    const check = {
      v5,
      id,
      maxLevels: this.limits.maxTopicLevels,
      allowed: (f: string) => !policy || policy.canSubscribe(conn.user, f),
    };
    for (const r of p.subscriptions) {
      const sub = checkRequest(r, check);
      if ("protocolError" in sub) {
        this.kill(conn, Reason.ProtocolError, sub.protocolError, now);
        return;
      }
      if ("code" in sub) {
        codes.push(sub.code);
        continue;
      }
      const existed = s.subs.get(r.filter);
      if (existed) this.router.remove(s, existed); // [MQTT-3.8.4-3] replaces the existing subscription
      s.subs.set(r.filter, sub);
      this.router.add(s, sub);
      codes.push(r.qos);
      retained.push(...retainedFor(sub, existed !== undefined, this.retained, now));
    }
    if (s.persistent) this.persist(s);
    this.out.send(conn, { type: "suback", packetId: p.packetId, reasonCodes: codes });
    for (const d of retained) this.out.deliver(s, d, now);
  }

  private onUnsubscribe(conn: Conn, p: Unsubscribe): void {
    const s = conn.session as Session;
    const codes = p.filters.map((f) => {
      const sub = s.subs.get(f);
      if (!sub) return Reason.NoSubscriptionExisted;
      s.subs.delete(f);
      this.router.remove(s, sub);
      return 0;
    });
    if (s.persistent) this.persist(s);
    this.out.send(conn, { type: "unsuback", packetId: p.packetId, reasonCodes: codes });
  }

  // ---- routing

  private retain(msg: Message): void {
    if (!this.retained.set(msg, this.limits.maxRetained)) {
      this.metrics.drop("retained_full");
      return;
    }
    this.store?.retain(msg);
  }

  private route(msg: Message, now: number): void {
    const { targets, locals } = this.router.match(msg);
    for (const [s, d] of targets) this.out.deliver(s, d, now);
    if (locals.length === 0) return;
    for (const l of locals) this.local.push(l, msg, false);
    this.local.run();
  }

  /** Closes a connection, telling a v5 client why when `reason` is set [MQTT-4.13.1-1]. */
  private kill(conn: Conn, reason: number, message: string | undefined, now: number, tell = true): void {
    if (conn.closed) return;
    if (tell && conn.connected && conn.version === 5 && reason)
      this.out.send(conn, {
        type: "disconnect",
        reasonCode: reason,
        ...(message && { properties: { reasonString: message } }),
      });
    conn.link.close();
    this.closed(conn, now);
  }

  // ---- wills and session end

  private persist(s: Session): void {
    if (!this.store) return;
    s.stored = true;
    this.store.session(s);
  }

  private endSession(s: Session, now: number): void {
    if (this.sessions.get(s.clientId) !== s) return;
    this.sessions.delete(s.clientId);
    for (const sub of s.subs.values()) this.router.remove(s, sub);
    if (s.pendingWill) {
      const { will } = s.pendingWill;
      s.pendingWill = undefined;
      this.publish(willMessage(s.clientId, will, now), now); // [MQTT-3.1.3-9] at the latest when the session ends
    }
    if (s.stored) this.store?.endSession(s.clientId);
  }
}
