/**
 * The client's pure parts, table-driven: packet identifiers, reconnect backoff, and the session
 * (in-flight window, resend with DUP, incoming QoS 2, acks held until own publishes are acked).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay } from "../../src/bus/client/backoff.ts";
import { PacketIds } from "../../src/bus/client/packet-ids.ts";
import { type Outcome, type Pending, Session } from "../../src/bus/client/session.ts";
import { type Aliased, TopicAliases } from "../../src/bus/client/topic-aliases.ts";
import type { Ack, Publish } from "../../src/bus/mqtt/index.ts";

describe("packet identifiers", () => {
  it("[MQTT-2.2.1-3] ids are 1..65535, never 0", () => {
    const ids = new PacketIds();
    assert.equal(ids.take(), 1);
    for (let i = 2; i <= 65_535; i++) ids.take();
    assert.equal(ids.inUse, 65_535);
    assert.equal(ids.take(), undefined, "all taken");
    ids.release(7);
    assert.equal(ids.take(), 7);
  });
  it("[MQTT-2.3.1-2] an id in use is not handed out again; a freed one is not reused at once", () => {
    const ids = new PacketIds();
    const a = ids.take();
    const b = ids.take();
    ids.release(a as number);
    assert.equal(ids.take(), 3);
    assert.ok(ids.has(b as number));
  });
  it("wraps from 65535 to 1, skipping ids still in use", () => {
    const ids = new PacketIds();
    for (let i = 1; i <= 65_535; i++) ids.take();
    for (const id of [65_535, 2]) ids.release(id);
    assert.equal(ids.take(), 2, "after 65535 comes 1, still in use, then 2");
    assert.equal(ids.take(), 65_535);
  });
});

describe("reconnect backoff with jitter", () => {
  const opts = { minMs: 250, maxMs: 30_000 };
  const rows: [string, number, number, number][] = [
    // name, attempt, random, expected
    ["first retry, no jitter", 0, 0, 125],
    ["first retry, full jitter", 0, 1, 250],
    ["doubles per attempt", 3, 0.5, 1500],
    ["capped at maxMs", 20, 1, 30_000],
    ["capped, least", 20, 0, 15_000],
    ["huge attempt numbers do not overflow", 10_000, 0.5, 22_500],
  ];
  for (const [name, attempt, r, want] of rows)
    it(name, () =>
      assert.equal(
        backoffDelay(attempt, opts, () => r),
        want,
      ),
    );
  it("two clients with different random draws do not retry in lock-step", () => {
    assert.notEqual(
      backoffDelay(4, opts, () => 0.1),
      backoffDelay(4, opts, () => 0.9),
    );
  });
});

function pending() {
  const log: string[] = [];
  const make = (name: string): Pending<Outcome> => ({
    resolve: (o) => log.push(`${name} ok ${o.reasonCode}`),
    reject: (e) => log.push(`${name} err ${e.message}`),
  });
  return { log, make };
}

const msg = (topic: string, qos: 0 | 1 | 2) => ({ topic, payload: Buffer.from(topic), qos, retain: false });
const ack = (type: Ack["type"], packetId: number, reasonCode = 0): Ack => ({ type, packetId, reasonCode });
const drainAll = (s: Session, now = 0) => {
  const out: Publish[] = [];
  for (let n = s.takeOne(now); n; n = s.takeOne(now)) {
    out.push(n.packet);
    n.done?.resolve({ reasonCode: 0 });
  }
  return out;
};

describe("session: outgoing", () => {
  it("in-flight window: no more than `window` QoS 1/2 publishes await acks; an ack lets the next go", () => {
    const s = new Session(2);
    const p = pending();
    for (const t of ["a", "b", "c"]) s.enqueue(msg(t, 1), p.make(t));
    assert.deepEqual(
      drainAll(s).map((x) => [x.topic, x.packetId]),
      [
        ["a", 1],
        ["b", 2],
      ],
    );
    assert.equal(s.queuedCount, 1);
    const r = s.ack(ack("puback", 1), 5);
    r.finished?.done.resolve(r.finished.outcome);
    assert.deepEqual(p.log, ["a ok 0"]);
    assert.deepEqual(
      drainAll(s).map((x) => [x.topic, x.packetId]),
      [["c", 3]],
    );
  });

  it("QoS 0 behind a full window waits its turn (order kept), and needs no id", () => {
    const s = new Session(1);
    const p = pending();
    s.enqueue(msg("a", 1), p.make("a"));
    s.enqueue(msg("b", 1), p.make("b"));
    s.enqueue(msg("z", 0), p.make("z"));
    assert.deepEqual(
      drainAll(s).map((x) => x.topic),
      ["a"],
    );
    s.ack(ack("puback", 1), 0);
    const rest = drainAll(s);
    assert.deepEqual(
      rest.map((x) => [x.topic, x.packetId]),
      [
        ["b", 2],
        ["z", undefined],
      ],
    );
  });

  it("[MQTT-4.4.0-1] resume re-sends un-acked PUBLISHes with DUP in original order, PUBREL for QoS 2 past PUBREC", () => {
    const s = new Session(10);
    const p = pending();
    s.enqueue(msg("q1", 1), p.make("q1"));
    s.enqueue(msg("q2", 2), p.make("q2"));
    s.enqueue(msg("q2b", 2), p.make("q2b"));
    drainAll(s);
    assert.deepEqual(s.ack(ack("pubrec", 2), 1).reply, ack("pubrel", 2));
    const again = s.resume(100);
    assert.deepEqual(
      again.map((x) =>
        x.type === "publish" ? ["publish", x.topic, x.packetId, x.dup] : [x.type, (x as Ack).packetId],
      ),
      [
        ["publish", "q1", 1, true],
        ["pubrel", 2],
        ["publish", "q2b", 3, true],
      ],
    );
    assert.equal(s.oldestSentAt(), 100);
  });

  it("QoS 2: PUBREC then PUBCOMP finishes; a duplicate PUBREC gets PUBREL again; unknown PUBREC gets PUBREL 0x92", () => {
    const s = new Session();
    const p = pending();
    s.enqueue(msg("x", 2), p.make("x"));
    drainAll(s);
    assert.equal(s.ack(ack("pubrec", 1), 0).reply?.type, "pubrel");
    assert.deepEqual(s.ack(ack("pubrec", 1), 0).reply, ack("pubrel", 1));
    const done = s.ack(ack("pubcomp", 1), 0);
    assert.equal(done.finished?.outcome.reasonCode, 0);
    assert.equal(s.inFlightCount, 0);
    assert.deepEqual(s.ack(ack("pubrec", 999), 0).reply, ack("pubrel", 999, 0x92));
  });

  it("v5: a PUBREC with a reason ≥ 0x80 finishes the QoS 2 publish with that code (no PUBREL)", () => {
    const s = new Session();
    s.enqueue(msg("x", 2), pending().make("x"));
    drainAll(s);
    const r = s.ack(ack("pubrec", 1, 0x87), 0);
    assert.equal(r.reply, undefined);
    assert.equal(r.finished?.outcome.reasonCode, 0x87);
  });

  it("the queue is bounded: beyond maxQueued, publish is refused with a clear error", () => {
    const s = new Session(1, 2);
    const p = pending();
    for (const t of ["a", "b", "c"]) s.enqueue(msg(t, 1), p.make(t));
    assert.deepEqual(p.log, ["c err publish queue full (2 messages): broker unreachable?"]);
  });

  it("failAll rejects queued and in-flight publishes and frees every id", () => {
    const s = new Session(1);
    const p = pending();
    s.enqueue(msg("a", 1), p.make("a"));
    s.enqueue(msg("b", 1), p.make("b"));
    drainAll(s);
    s.failAll(new Error("stopped"));
    assert.deepEqual(p.log, ["a err stopped", "b err stopped"]);
    assert.equal(s.ids.inUse, 0);
  });
});

describe("session: incoming", () => {
  const pub = (qos: 0 | 1 | 2, packetId?: number): Publish => ({
    type: "publish",
    topic: "t",
    payload: new Uint8Array(),
    qos,
    retain: false,
    dup: false,
    packetId,
  });
  it("QoS 0 is delivered without an ack; QoS 1 gets PUBACK", () => {
    const s = new Session();
    assert.deepEqual(s.incoming(pub(0)), { deliver: true });
    assert.deepEqual(s.incoming(pub(1, 5)), { deliver: true, ack: ack("puback", 5) });
  });
  it("[MQTT-4.3.3-2] a QoS 2 PUBLISH resent before PUBREL is acked again but not delivered twice", () => {
    const s = new Session();
    assert.deepEqual(s.incoming(pub(2, 9)), { deliver: true, ack: ack("pubrec", 9) });
    assert.deepEqual(s.incoming(pub(2, 9)), { deliver: false, ack: ack("pubrec", 9) });
    assert.deepEqual(s.release(9), ack("pubcomp", 9));
    assert.deepEqual(s.incoming(pub(2, 9)).deliver, true, "after PUBREL the id is a new message");
    assert.deepEqual(s.release(77), ack("pubcomp", 77, 0x92));
  });
  it("acks of incoming messages wait for this client's earlier QoS 1/2 publishes (a mapper acks its input after its output is safe)", () => {
    const s = new Session();
    assert.deepEqual(s.holdAck(ack("puback", 1)), [ack("puback", 1)], "nothing outstanding: at once");
    s.enqueue(msg("out1", 1), pending().make("out1")); // published while handling input 2
    assert.deepEqual(s.holdAck(ack("puback", 2)), []);
    s.enqueue(msg("out2", 1), pending().make("out2"));
    assert.deepEqual(s.holdAck(ack("puback", 3)), []);
    drainAll(s);
    s.ack(ack("puback", 1), 0); // out1 done
    assert.deepEqual(s.releasable(), [ack("puback", 2)]);
    s.ack(ack("puback", 2), 0);
    assert.deepEqual(s.releasable(), [ack("puback", 3)]);
  });
  it("held acks are dropped on reconnect: they answered the lost connection's packets", () => {
    const s = new Session();
    s.enqueue(msg("out", 1), pending().make("out"));
    s.holdAck(ack("puback", 4));
    drainAll(s);
    s.resume(0);
    s.ack(ack("puback", 1), 0);
    assert.deepEqual(s.releasable(), []);
  });
});

describe("outbound topic aliases", () => {
  const cases: [name: string, max: number, topics: string[], want: Aliased[]][] = [
    [
      "[MQTT-3.2.2-17] no Topic Alias Maximum in CONNACK (0): never an alias",
      0,
      ["te/a", "te/a"],
      [{ topic: "te/a" }, { topic: "te/a" }],
    ],
    [
      "[MQTT-3.3.2-8] the first PUBLISH sets alias 1 (never 0) with the topic, later ones send it alone",
      5,
      ["te/a", "te/a", "te/b", "te/a"],
      [
        { topic: "te/a", alias: 1 },
        { topic: "", alias: 1 },
        { topic: "te/b", alias: 2 },
        { topic: "", alias: 1 },
      ],
    ],
    [
      "[MQTT-3.3.2-9] never above the maximum: the least recently used alias is remapped, topic sent again",
      2,
      ["te/a", "te/b", "te/a", "te/c", "te/b", "te/a"],
      [
        { topic: "te/a", alias: 1 },
        { topic: "te/b", alias: 2 },
        { topic: "", alias: 1 },
        { topic: "te/c", alias: 2 },
        { topic: "te/b", alias: 1 },
        { topic: "te/a", alias: 2 },
      ],
    ],
    [
      "topics under 4 characters are not worth the alias's 3 bytes",
      5,
      ["a/b", "a/b"],
      [{ topic: "a/b" }, { topic: "a/b" }],
    ],
  ];
  for (const [name, max, topics, want] of cases)
    it(name, () => {
      const a = new TopicAliases();
      a.reset(max);
      assert.deepEqual(
        topics.map((t) => a.apply(t)),
        want,
      );
    });
  it("[MQTT-3.3.2-7] a new connection (reset) carries no mapping over: the topic goes in full again", () => {
    const a = new TopicAliases();
    a.reset(3);
    a.apply("te/a");
    assert.deepEqual(a.apply("te/a"), { topic: "", alias: 1 });
    a.reset(3);
    assert.deepEqual(a.apply("te/a"), { topic: "te/a", alias: 1 });
    a.reset(0);
    assert.deepEqual(a.apply("te/a"), { topic: "te/a" }, "a server that now allows none gets none");
  });
});
