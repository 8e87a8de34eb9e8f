import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BrokerCore, type Conn } from "../../src/bus/broker/core.ts";
import { type BrokerLimits, DEFAULT_LIMITS } from "../../src/bus/broker/limits.ts";
import type { Link } from "../../src/bus/broker/link.ts";
import {
  Decoder,
  encode,
  type Packet,
  type Properties,
  type ProtocolVersion,
  type Publish,
  Reason,
} from "../../src/bus/mqtt/index.ts";

/** A client of the pure core: packets in through `send`, packets out decoded from the link. */
class Client {
  readonly got: Packet[] = [];
  closed = false;
  writable = true;
  conn: Conn;
  private readonly decoder: Decoder;
  constructor(
    readonly core: BrokerCore,
    readonly v: ProtocolVersion,
    private readonly clock: { now: number },
  ) {
    this.decoder = new Decoder({ version: v });
    const link: Link = {
      write: (bytes) => {
        const r = this.decoder.push(bytes);
        assert.equal(r.error, undefined);
        this.got.push(...r.packets);
        return this.writable;
      },
      close: () => {
        this.closed = true;
      },
      remoteAddress: "test",
    };
    this.conn = core.open(link, clock.now);
  }
  send(p: Packet): this {
    // through the codec both ways, as on a socket
    const { packets, error } = new Decoder({ version: this.v }).push(encode(p, this.v));
    assert.equal(error, undefined);
    for (const q of packets) this.core.receive(this.conn, q, this.clock.now);
    return this;
  }
  connect(clientId: string, extra: Partial<Extract<Packet, { type: "connect" }>> = {}): this {
    return this.send({
      type: "connect",
      protocolVersion: this.v,
      clientId,
      clean: true,
      keepalive: 0,
      ...extra,
    });
  }
  subscribe(
    filter: string,
    qos: 0 | 1 | 2 = 1,
    opts: Partial<{ noLocal: boolean; retainAsPublished: boolean; retainHandling: 0 | 1 | 2 }> = {},
    properties?: Properties,
  ): this {
    return this.send({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...opts }],
      ...(properties && { properties }),
    });
  }
  publish(topic: string, payload: string, qos: 0 | 1 | 2 = 0, extra: Partial<Publish> = {}): this {
    return this.send({
      type: "publish",
      topic,
      payload: new TextEncoder().encode(payload),
      qos,
      retain: false,
      dup: false,
      ...(qos > 0 && { packetId: 7 }),
      ...extra,
    });
  }
  take<T extends Packet["type"]>(type: T): (Packet & { type: T })[] {
    const out = this.got.filter((p) => p.type === type) as (Packet & { type: T })[];
    this.got.splice(0, this.got.length, ...this.got.filter((p) => p.type !== type));
    return out;
  }
  messages(): {
    topic: string;
    payload: string;
    qos: number;
    retain: boolean;
    dup: boolean;
    packetId?: number;
    properties?: Properties;
  }[] {
    return this.take("publish").map((p) => ({ ...p, payload: Buffer.from(p.payload).toString() }));
  }
  ackAll(): void {
    for (const p of this.got.filter((x) => x.type === "publish") as Publish[])
      if (p.qos === 1) this.send({ type: "puback", packetId: p.packetId as number, reasonCode: 0 });
  }
}

function setup(limits: Partial<BrokerLimits> = {}) {
  const clock = { now: 1_000_000 };
  const core = new BrokerCore({ ...DEFAULT_LIMITS, ...limits });
  return { core, clock, client: (v: ProtocolVersion = 4) => new Client(core, v, clock) };
}

describe("broker core: CONNECT", () => {
  it("[MQTT-3.1.3-8] a zero-length client id with clean session 0 is refused with identifier rejected (3.1.1)", () => {
    const { client } = setup();
    const c = client(4).connect("", { clean: false });
    assert.deepEqual(c.take("connack"), [{ type: "connack", sessionPresent: false, reasonCode: 2 }]);
    assert.ok(c.closed);
  });

  it("[MQTT-3.1.3-6] a zero-length client id with a clean session gets an id assigned (v5 tells it)", () => {
    const { client } = setup();
    const c = client(5).connect("");
    const [ack] = c.take("connack");
    assert.equal(ack?.reasonCode, 0);
    assert.match(ack?.properties?.assignedClientIdentifier ?? "", /^auto-/);
    assert.equal(ack?.properties?.maximumPacketSize, DEFAULT_LIMITS.maxPacketSize);
  });

  it("[MQTT-3.1.4-3] a second connection with the same client id takes the session over (v5: DISCONNECT 0x8E)", () => {
    const { client } = setup();
    const a = client(5).connect("same");
    const b = client(5).connect("same");
    assert.equal(a.take("disconnect")[0]?.reasonCode, Reason.SessionTakenOver);
    assert.ok(a.closed);
    assert.equal(b.take("connack")[0]?.reasonCode, 0);
  });

  it("[MQTT-3.1.0-2] a second CONNECT closes the connection", () => {
    const { client } = setup();
    const a = client(4).connect("x").connect("x");
    assert.ok(a.closed);
  });

  it("connections over the limit are refused with Server busy (v5) / Server unavailable (3.1.1)", () => {
    const { client } = setup({ maxConnections: 1 });
    client(4).connect("one");
    const two = client(5).connect("two");
    assert.equal(two.take("connack")[0]?.reasonCode, Reason.ServerBusy);
    const three = client(4).connect("three");
    assert.equal(three.take("connack")[0]?.reasonCode, 3);
  });

  it("[MQTT-3.1.2-24] enhanced authentication is refused with Bad authentication method", () => {
    const { client } = setup();
    const c = client(5).connect("a", { properties: { authenticationMethod: "SCRAM" } });
    assert.equal(c.take("connack")[0]?.reasonCode, Reason.BadAuthenticationMethod);
  });
});

describe("broker core: publish and subscribe", () => {
  it("[MQTT-4.3.2] QoS 1: PUBACK to the publisher, the subscriber gets it at QoS 1 and acknowledges it", () => {
    const { client } = setup();
    const sub = client().connect("s").subscribe("a/b", 1);
    assert.deepEqual(sub.take("suback")[0]?.reasonCodes, [1]);
    const pub = client().connect("p").publish("a/b", "x", 1);
    assert.deepEqual(pub.take("puback"), [{ type: "puback", packetId: 7, reasonCode: 0 }]);
    const [m] = sub.messages();
    assert.equal(m?.qos, 1);
    assert.equal(m?.payload, "x");
    assert.equal(sub.core.sessions.get("s")?.inflight.size, 1);
    sub.send({ type: "puback", packetId: m?.packetId as number, reasonCode: 0 });
    assert.equal(sub.core.sessions.get("s")?.inflight.size, 0);
  });

  it("[MQTT-4.3.3] QoS 2: PUBREC/PUBREL/PUBCOMP both ways; a resent PUBLISH before PUBREL is routed once [MQTT-4.3.3-10]", () => {
    const { client } = setup();
    const sub = client().connect("s").subscribe("q2", 2);
    const pub = client().connect("p").publish("q2", "once", 2);
    pub.publish("q2", "once", 2, { dup: true });
    assert.equal(pub.take("pubrec").length, 2);
    pub.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
    assert.deepEqual(pub.take("pubcomp"), [{ type: "pubcomp", packetId: 7, reasonCode: 0 }]);
    const msgs = sub.messages();
    assert.equal(msgs.length, 1);
    const id = msgs[0]?.packetId as number;
    sub.send({ type: "pubrec", packetId: id, reasonCode: 0 });
    assert.deepEqual(sub.take("pubrel"), [{ type: "pubrel", packetId: id, reasonCode: 0 }]);
    sub.send({ type: "pubcomp", packetId: id, reasonCode: 0 });
    assert.equal(sub.core.sessions.get("s")?.inflight.size, 0);
  });

  it("[MQTT-3.3.5-1] the delivered QoS is the lower of the published and the subscribed", () => {
    const { client } = setup();
    const sub = client().connect("s").subscribe("t", 0);
    client().connect("p").publish("t", "x", 2);
    assert.equal(sub.messages()[0]?.qos, 0);
  });

  it("[MQTT-3.3.4-2] overlapping subscriptions: one copy at the highest QoS, every subscription id (v5)", () => {
    const { client } = setup();
    const sub = client(5)
      .connect("s")
      .subscribe("a/#", 0, {}, { subscriptionIdentifiers: [1] })
      .subscribe("a/+", 1, {}, { subscriptionIdentifiers: [2] });
    client().connect("p").publish("a/b", "x", 1);
    const msgs = sub.messages();
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]?.qos, 1);
    assert.deepEqual(msgs[0]?.properties?.subscriptionIdentifiers?.sort(), [1, 2]);
  });

  it("[MQTT-4.7.2-1] wildcards at the first level do not match $ topics; a filter naming $SYS does", () => {
    const { client } = setup();
    const all = client().connect("a").subscribe("#").subscribe("+/x");
    const sys = client().connect("b").subscribe("$SYS/#");
    client().connect("p").publish("$SYS/x", "1");
    assert.equal(all.messages().length, 0);
    assert.equal(sys.messages().length, 1);
  });

  it("[MQTT-4.7.1-2] '#' matches the parent level too", () => {
    const { client } = setup();
    const sub = client().connect("a").subscribe("sport/#");
    client().connect("p").publish("sport", "1");
    assert.equal(sub.messages().length, 1);
  });

  it("[MQTT-3.8.3-3] no local: a v5 client does not get its own messages back", () => {
    const { client } = setup();
    const c = client(5).connect("me").subscribe("t", 0, { noLocal: true });
    c.publish("t", "mine");
    const other = client(5).connect("other").subscribe("t", 0, { noLocal: true });
    c.publish("t", "again");
    assert.equal(c.messages().length, 0);
    assert.equal(other.messages().length, 1);
  });

  it("[MQTT-3.3.2-5] an expired message is not delivered; [MQTT-3.3.2-6] the remaining interval is sent", () => {
    const { client, core, clock } = setup();
    const sub = client(5)
      .connect("s", { clean: false, properties: { sessionExpiryInterval: 100 } })
      .subscribe("t", 1);
    sub.send({ type: "disconnect", reasonCode: 0 });
    core.closed(sub.conn, clock.now);
    const pub = client(5).connect("p");
    pub.publish("t", "short", 1, { packetId: 1, properties: { messageExpiryInterval: 5 } });
    pub.publish("t", "long", 1, { packetId: 2, properties: { messageExpiryInterval: 60 } });
    clock.now += 10_000;
    const back = client(5).connect("s", { clean: false, properties: { sessionExpiryInterval: 100 } });
    const msgs = back.messages();
    assert.deepEqual(
      msgs.map((m) => m.payload),
      ["long"],
    );
    assert.equal(msgs[0]?.properties?.messageExpiryInterval, 50);
    assert.equal(core.metrics.drops.expired, 1);
  });

  it("[MQTT-3.3.2-12] topic alias: the first PUBLISH sets it, later ones may send an empty topic", () => {
    const { client } = setup();
    const sub = client().connect("s").subscribe("long/topic/name");
    const p = client(5).connect("p");
    p.publish("long/topic/name", "1", 0, { properties: { topicAlias: 3 } });
    p.publish("", "2", 0, { properties: { topicAlias: 3 } });
    assert.deepEqual(
      sub.messages().map((m) => m.topic),
      ["long/topic/name", "long/topic/name"],
    );
  });

  it("[MQTT-3.3.2-9] a topic alias over the broker's maximum disconnects with Topic alias invalid", () => {
    const { client } = setup();
    const p = client(5)
      .connect("p")
      .publish("t", "1", 0, { properties: { topicAlias: DEFAULT_LIMITS.topicAliasMaximum + 1 } });
    assert.equal(p.take("disconnect")[0]?.reasonCode, Reason.TopicAliasInvalid);
    assert.ok(p.closed);
  });

  it("a topic of more than 100 levels is refused and acknowledged, so it is not resent forever (v5: reason 0x90)", () => {
    const { client, core } = setup();
    const sub = client().connect("s").subscribe("#");
    const deep = Array.from({ length: 101 }, (_, i) => `l${i}`).join("/");
    const v5 = client(5).connect("p5").publish(deep, "x", 1);
    assert.equal(v5.take("puback")[0]?.reasonCode, Reason.TopicNameInvalid);
    const v4 = client(4).connect("p4").publish(deep, "x", 1);
    assert.equal(v4.take("puback")[0]?.reasonCode, 0);
    assert.ok(!v4.closed && !v5.closed);
    assert.equal(sub.messages().length, 0);
    assert.equal(core.metrics.drops.topic_invalid, 2);
    // positive control: 100 levels pass
    v4.publish(deep.split("/").slice(0, 100).join("/"), "ok", 1);
    assert.equal(sub.messages().length, 1);
  });

  it("[MQTT-3.1.2-25] a message over the client's maximum packet size is not sent to it", () => {
    const { client, core } = setup();
    const small = client(5)
      .connect("s", { properties: { maximumPacketSize: 64 } })
      .subscribe("t");
    client().connect("p").publish("t", "x".repeat(100)).publish("t", "short");
    assert.deepEqual(
      small.messages().map((m) => m.payload),
      ["short"],
    );
    assert.equal(core.metrics.drops.too_large_for_client, 1);
  });

  it("[MQTT-3.3.4-9] receive maximum: no more QoS 1 messages in flight than the client allows; the rest follow acks", () => {
    const { client } = setup();
    const sub = client(5)
      .connect("s", { properties: { receiveMaximum: 2 } })
      .subscribe("t", 1);
    const p = client().connect("p");
    for (let i = 0; i < 5; i++) p.publish("t", `${i}`, 1, { packetId: i + 1 });
    let got = sub.messages();
    assert.deepEqual(
      got.map((m) => m.payload),
      ["0", "1"],
    );
    for (const m of got) sub.send({ type: "puback", packetId: m.packetId as number, reasonCode: 0 });
    got = sub.messages();
    assert.deepEqual(
      got.map((m) => m.payload),
      ["2", "3"],
    );
  });

  it("[MQTT-4.8.2] shared subscriptions: each message to one member of the group, in turn; no retained on subscribe", () => {
    const { client } = setup();
    client().connect("p").publish("job/1", "old", 0, { retain: true });
    const a = client(5).connect("a").subscribe("$share/g/job/+");
    const b = client(5).connect("b").subscribe("$share/g/job/+");
    const plain = client(5).connect("c").subscribe("job/+");
    assert.equal(a.messages().length + b.messages().length, 0);
    assert.equal(plain.messages().length, 1);
    const p = client().connect("p2");
    for (let i = 0; i < 4; i++) p.publish("job/1", `${i}`);
    assert.equal(a.messages().length, 2);
    assert.equal(b.messages().length, 2);
    assert.equal(plain.messages().length, 4);
  });

  it("[MQTT-3.8.3-4] no local on a shared subscription is a protocol error", () => {
    const { client } = setup();
    const a = client(5).connect("a").subscribe("$share/g/t", 0, { noLocal: true });
    assert.equal(a.take("disconnect")[0]?.reasonCode, Reason.ProtocolError);
  });

  it("[MQTT-3.8.4-3] subscribing again to the same filter replaces the subscription (one copy, new QoS)", () => {
    const { client } = setup();
    const s = client().connect("s").subscribe("t", 0).subscribe("t", 1);
    client().connect("p").publish("t", "x", 1);
    const m = s.messages();
    assert.equal(m.length, 1);
    assert.equal(m[0]?.qos, 1);
  });

  it("[MQTT-3.10.4-5] UNSUBACK; v5 reason No subscription existed for an unknown filter", () => {
    const { client } = setup();
    const s = client(5).connect("s").subscribe("t");
    s.send({ type: "unsubscribe", packetId: 2, filters: ["t", "nope"] });
    assert.deepEqual(s.take("unsuback")[0]?.reasonCodes, [0, Reason.NoSubscriptionExisted]);
    client().connect("p").publish("t", "x");
    assert.equal(s.messages().length, 0);
  });

  it("invalid filters get a failure code in SUBACK, the rest are granted", () => {
    const { client } = setup();
    const s = client(5).connect("s");
    s.send({
      type: "subscribe",
      packetId: 1,
      subscriptions: [
        { filter: "a/#/b", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { filter: "ok", qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    assert.deepEqual(s.take("suback")[0]?.reasonCodes, [Reason.TopicFilterInvalid, 2]);
  });
});

describe("broker core: retained messages", () => {
  it("[MQTT-3.3.1-6] retained messages go to a new subscriber flagged retain; live ones are not flagged [MQTT-3.3.1-9]", () => {
    const { client } = setup();
    const p = client().connect("p").publish("r/1", "kept", 1, { retain: true });
    const s = client().connect("s").subscribe("r/+");
    assert.deepEqual(
      s.messages().map((m) => [m.payload, m.retain]),
      [["kept", true]],
    );
    p.publish("r/1", "live", 0, { retain: true });
    assert.deepEqual(
      s.messages().map((m) => [m.payload, m.retain]),
      [["live", false]],
    );
  });

  it("[MQTT-4.7.1-3] '+' matches empty levels in retained messages: te/+/+/+/+ gets te/device/main//", () => {
    const { client } = setup();
    client()
      .connect("p")
      .publish("te/device/main//", "{}", 0, { retain: true })
      .publish("te/device/child//", "{}", 0, { retain: true });
    const s = client().connect("s").subscribe("te/+/+/+/+");
    assert.deepEqual(
      s
        .messages()
        .map((m) => m.topic)
        .sort(),
      ["te/device/child//", "te/device/main//"],
    );
  });

  it("[MQTT-3.3.1-10] an empty retained payload clears the topic and is delivered live", () => {
    const { client, core } = setup();
    const p = client().connect("p").publish("r", "x", 0, { retain: true });
    const live = client().connect("l").subscribe("r");
    live.messages();
    p.publish("r", "", 0, { retain: true });
    assert.equal(live.messages().length, 1);
    assert.equal(core.retained.size, 0);
    assert.equal(client().connect("s").subscribe("r").messages().length, 0);
  });

  it("[MQTT-3.3.1-12] retain as published keeps the flag on live messages (v5)", () => {
    const { client } = setup();
    const s = client(5).connect("s").subscribe("r", 0, { retainAsPublished: true });
    client().connect("p").publish("r", "x", 0, { retain: true });
    assert.equal(s.messages()[0]?.retain, true);
  });

  it("[MQTT-3.8.3.1] retain handling 1 sends retained only for a new subscription, 2 never", () => {
    const { client } = setup();
    client().connect("p").publish("r", "x", 0, { retain: true });
    const one = client(5).connect("one").subscribe("r", 0, { retainHandling: 1 });
    assert.equal(one.messages().length, 1);
    one.subscribe("r", 0, { retainHandling: 1 });
    assert.equal(one.messages().length, 0);
    const two = client(5).connect("two").subscribe("r", 0, { retainHandling: 2 });
    assert.equal(two.messages().length, 0);
  });
});

describe("broker core: sessions and wills", () => {
  it("[MQTT-3.1.2-4] a persistent session keeps subscriptions and QoS 1 messages while offline; CONNACK session present", () => {
    const { client, core, clock } = setup();
    const s = client().connect("ps", { clean: false }).subscribe("t", 1);
    core.closed(s.conn, clock.now);
    const p = client().connect("p").publish("t", "while away", 1).publish("t", "qos0 dropped", 0);
    void p;
    const back = client().connect("ps", { clean: false });
    assert.equal(back.take("connack")[0]?.sessionPresent, true);
    assert.deepEqual(
      back.messages().map((m) => m.payload),
      ["while away"],
    );
    assert.equal(core.metrics.drops.offline_qos0, 1);
  });

  it("[MQTT-3.1.2-6] clean session discards the old session", () => {
    const { client, core, clock } = setup();
    const s = client().connect("ps", { clean: false }).subscribe("t", 1);
    core.closed(s.conn, clock.now);
    client().connect("p").publish("t", "x", 1);
    const back = client().connect("ps", { clean: true });
    assert.equal(back.take("connack")[0]?.sessionPresent, false);
    assert.equal(back.messages().length, 0);
  });

  it("[MQTT-4.4.0-1] unacknowledged QoS 1 messages are resent with DUP on reconnect, in order", () => {
    const { client, core, clock } = setup();
    const s = client().connect("ps", { clean: false }).subscribe("t", 1);
    const p = client().connect("p");
    p.publish("t", "1", 1, { packetId: 1 }).publish("t", "2", 1, { packetId: 2 });
    const first = s.messages();
    assert.equal(first.length, 2);
    core.closed(s.conn, clock.now);
    const back = client().connect("ps", { clean: false });
    const again = back.messages();
    assert.deepEqual(
      again.map((m) => [m.payload, m.dup, m.packetId]),
      first.map((m) => [m.payload, true, m.packetId]),
    );
  });

  it("[MQTT-3.1.3-2] v5 session expiry: the session ends when the interval passes", () => {
    const { client, core, clock } = setup();
    const s = client(5)
      .connect("e", { clean: false, properties: { sessionExpiryInterval: 10 } })
      .subscribe("t", 1);
    core.closed(s.conn, clock.now);
    clock.now += 9_000;
    core.tick(clock.now);
    assert.ok(core.sessions.has("e"));
    clock.now += 2_000;
    core.tick(clock.now);
    assert.ok(!core.sessions.has("e"));
  });

  it("[MQTT-3.1.2-8] the will is published when the connection closes without DISCONNECT", () => {
    const { client, core, clock } = setup();
    const watch = client().connect("w").subscribe("wills/#");
    const c = client().connect("dies", {
      will: { topic: "wills/dies", payload: new TextEncoder().encode("gone"), qos: 1, retain: false },
    });
    core.closed(c.conn, clock.now);
    assert.deepEqual(
      watch.messages().map((m) => m.payload),
      ["gone"],
    );
  });

  it("[MQTT-3.1.2-10] a normal DISCONNECT discards the will; v5 reason 0x04 publishes it", () => {
    const { client } = setup();
    const watch = client(5).connect("w").subscribe("wills/#");
    const will = {
      topic: "wills/x",
      payload: new TextEncoder().encode("gone"),
      qos: 0 as const,
      retain: false,
    };
    client(5).connect("a", { will }).send({ type: "disconnect", reasonCode: 0 });
    assert.equal(watch.messages().length, 0);
    client(5).connect("b", { will }).send({ type: "disconnect", reasonCode: Reason.DisconnectWithWill });
    assert.equal(watch.messages().length, 1);
  });

  it("[MQTT-3.1.3-9] v5 will delay: published after the delay, not if the client reconnects first", () => {
    const { client, core, clock } = setup();
    const watch = client(5).connect("w").subscribe("wills/#");
    const will = {
      topic: "wills/x",
      payload: new TextEncoder().encode("gone"),
      qos: 0 as const,
      retain: false,
      properties: { willDelayInterval: 5 },
    };
    const props = { sessionExpiryInterval: 60 };
    const a = client(5).connect("a", { will, clean: false, properties: props });
    core.closed(a.conn, clock.now);
    clock.now += 3_000;
    core.tick(clock.now);
    assert.equal(watch.messages().length, 0);
    clock.now += 3_000;
    core.tick(clock.now);
    assert.equal(watch.messages().length, 1);
    const b = client(5).connect("b", { will, clean: false, properties: props });
    core.closed(b.conn, clock.now);
    client(5).connect("b", { clean: false, properties: props });
    clock.now += 10_000;
    core.tick(clock.now);
    assert.equal(watch.messages().length, 0);
  });

  it("[MQTT-3.1.2-22] keepalive: no packet for 1.5 × keepalive closes the connection (v5: 0x8D)", () => {
    const { client, core, clock } = setup();
    const c = client(5).connect("k", { keepalive: 10 });
    clock.now += 14_000;
    core.tick(clock.now);
    assert.ok(!c.closed);
    c.send({ type: "pingreq" });
    assert.equal(c.take("pingresp").length, 1);
    clock.now += 14_000;
    core.tick(clock.now);
    assert.ok(!c.closed);
    clock.now += 2_000;
    core.tick(clock.now);
    assert.equal(c.take("disconnect")[0]?.reasonCode, Reason.KeepAliveTimeout);
    assert.ok(c.closed);
  });

  it("[MQTT-3.14.2-2] setting a session expiry at DISCONNECT after 0 at CONNECT is a protocol error", () => {
    const { client } = setup();
    const c = client(5)
      .connect("x")
      .send({ type: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 10 } });
    assert.equal(c.take("disconnect")[0]?.reasonCode, Reason.ProtocolError);
  });
});

describe("broker core: isolation", () => {
  it("a client that stops reading: its QoS 0 messages are dropped past the bound, the other subscriber gets everything", () => {
    const { client, core } = setup({ maxQueued: 100 });
    const stuck = client().connect("stuck").subscribe("t", 0);
    stuck.writable = false;
    const ok = client().connect("ok").subscribe("t", 0);
    const p = client().connect("p");
    for (let i = 0; i < 1000; i++) p.publish("t", `${i}`);
    assert.equal(ok.messages().length, 1000);
    assert.equal(core.metrics.drops.slow_client, 1000 - 1 - 100);
    assert.ok(!stuck.closed);
    // once it reads again, what was queued follows in order
    stuck.got.length = 0;
    stuck.writable = true;
    core.drained(stuck.conn, 0);
    const rest = stuck.messages();
    assert.equal(rest.length, 100);
    assert.equal(rest[0]?.payload, "1");
  });

  it("a client that stops reading QoS 1: queued up to the bound, then disconnected with Quota exceeded; the others are not delayed", () => {
    const { client, core } = setup({ maxQueued: 50 });
    const stuck = client(5).connect("stuck").subscribe("t", 1);
    stuck.writable = false;
    const ok = client(5).connect("ok").subscribe("t", 1);
    const p = client().connect("p");
    for (let i = 0; i < 200; i++) {
      p.publish("t", `${i}`, 1, { packetId: (i % 60000) + 1 });
      ok.ackAll();
    }
    assert.equal(ok.messages().length, 200);
    assert.equal(stuck.take("disconnect")[0]?.reasonCode, Reason.QuotaExceeded);
    assert.ok(stuck.closed);
    assert.equal(core.metrics.disconnectsSlow, 1);
  });
});

describe("broker core: routing follows subscription changes (each topic's matches are remembered)", () => {
  it("a subscription made, replaced or removed after a topic was routed applies to its next message", () => {
    const { core, client } = setup();
    const a = client().connect("a").subscribe("t/+", 0);
    const pub = client().connect("p").publish("t/x", "1");
    assert.deepEqual(
      a.messages().map((m) => m.payload),
      ["1"],
    );
    const b = client().connect("b").subscribe("t/#", 1);
    pub.publish("t/x", "2", 1);
    assert.deepEqual(
      a.messages().map((m) => [m.payload, m.qos]),
      [["2", 0]],
    );
    assert.deepEqual(
      b.messages().map((m) => [m.payload, m.qos]),
      [["2", 1]],
    );
    a.subscribe("t/+", 1); // replaces the subscription: its new QoS applies
    a.send({ type: "unsubscribe", packetId: 2, filters: ["t/+"] });
    const local: string[] = [];
    const l = {
      filters: ["t/x"],
      deliver: (m: { payload: Uint8Array }) => local.push(Buffer.from(m.payload).toString()),
    };
    core.subscribeLocal(l, 0);
    pub.publish("t/x", "3", 1);
    assert.deepEqual(a.messages(), []);
    assert.deepEqual(
      b.messages().map((m) => m.payload),
      ["3"],
    );
    core.unsubscribeLocal(l);
    pub.publish("t/x", "4", 1);
    assert.deepEqual(local, ["3"]);
    assert.deepEqual(
      b.messages().map((m) => m.payload),
      ["4"],
    );
  });

  it("many distinct topics (more than are remembered) are all routed", () => {
    const { client } = setup();
    const sub = client().connect("s").subscribe("m/+", 0);
    const pub = client().connect("p");
    for (let i = 0; i < 3000; i++) pub.publish(`m/${i % 1500}`, String(i));
    const got = sub.messages();
    assert.equal(got.length, 3000);
    assert.equal(got[2999]?.topic, "m/1499");
  });
});

describe("broker core: in-process subscribers", () => {
  it("get retained then live messages, nested publishes from a handler run after the current one", () => {
    const { core, client } = setup();
    client().connect("p").publish("a", "r", 0, { retain: true });
    const seen: string[] = [];
    core.subscribeLocal(
      {
        filters: ["a", "b"],
        deliver: (m, retained) => {
          seen.push(`${m.topic}:${Buffer.from(m.payload)}:${retained}`);
          if (m.topic === "a" && !retained)
            core.publish({ topic: "b", payload: new Uint8Array([120]), qos: 0, retain: false }, 0);
        },
      },
      0,
    );
    core.subscribeLocal({ filters: ["a"], deliver: (m) => seen.push(`second:${m.topic}`) }, 0);
    core.publish({ topic: "a", payload: new Uint8Array([108]), qos: 0, retain: false }, 0);
    assert.deepEqual(seen, ["a:r:true", "second:a", "a:l:false", "second:a", "b:x:false"]);
  });
});
