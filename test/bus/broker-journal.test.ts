import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BrokerCore } from "../../src/bus/broker/core.ts";
import { Journal } from "../../src/bus/broker/journal.ts";
import { DEFAULT_LIMITS } from "../../src/bus/broker/limits.ts";
import type { Link } from "../../src/bus/broker/link.ts";
import { Decoder, encode, type Packet } from "../../src/bus/mqtt/index.ts";

/** A core on a journal in `dir`, restored from it, with a way to drive a 3.1.1 client. */
function open(dir: string, now = 1000) {
  const journal = new Journal({ dir, fsync: "never", fsyncIntervalMs: 100 });
  const core = new BrokerCore(DEFAULT_LIMITS, journal);
  const state = journal.load(now);
  core.restore(state.retained, state.sessions);
  journal.start(() => ({ retained: core.retained.all(), sessions: core.sessions.values() }));
  const client = () => {
    const got: Packet[] = [];
    const dec = new Decoder({ version: 4 });
    const link: Link = {
      write: (b) => {
        got.push(...dec.push(b).packets);
        return true;
      },
      close() {},
      remoteAddress: "t",
    };
    const conn = core.open(link, now);
    const send = (p: Packet) => {
      for (const q of new Decoder({ version: 4 }).push(encode(p, 4)).packets) core.receive(conn, q, now);
    };
    return { got, conn, send };
  };
  return { journal, core, client };
}

const pub = (topic: string, payload: string, qos: 0 | 1, retain: boolean, packetId = 1): Packet => ({
  type: "publish",
  topic,
  payload: new TextEncoder().encode(payload),
  qos,
  retain,
  dup: false,
  ...(qos > 0 && { packetId }),
});

describe("broker journal", () => {
  it("replays retained messages and a persistent session's unacknowledged messages, in order", () => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-journal-"));
    const a = open(dir);
    const s = a.client();
    s.send({ type: "connect", protocolVersion: 4, clientId: "keep", clean: false, keepalive: 0 });
    s.send({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{ filter: "q/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    });
    const p = a.client();
    p.send({ type: "connect", protocolVersion: 4, clientId: "p", clean: true, keepalive: 0 });
    p.send(pub("r/1", "kept", 0, true));
    for (let i = 0; i < 3; i++) p.send(pub(`q/${i}`, `m${i}`, 1, false, i + 1));
    // the first one is acknowledged by the subscriber: it must not come back
    const first = s.got.find((x) => x.type === "publish");
    assert.ok(first?.type === "publish");
    s.send({ type: "puback", packetId: first.packetId as number, reasonCode: 0 });
    a.journal.close();
    const b = open(dir);
    assert.equal(b.core.retained.size, 1);
    const back = b.client();
    back.send({ type: "connect", protocolVersion: 4, clientId: "keep", clean: false, keepalive: 0 });
    const msgs = back.got
      .filter((x) => x.type === "publish")
      .map((x) => (x.type === "publish" ? Buffer.from(x.payload).toString() : ""));
    assert.deepEqual(msgs, ["m1", "m2"]);
    assert.equal((back.got[0] as { sessionPresent?: boolean }).sessionPresent, true);
    b.journal.close();
  });

  it("a record cut by a crash ends the replay; everything before it is kept", () => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-journal-"));
    const a = open(dir);
    const p = a.client();
    p.send({ type: "connect", protocolVersion: 4, clientId: "p", clean: true, keepalive: 0 });
    p.send(pub("r/1", "one", 0, true));
    a.journal.close();
    appendFileSync(join(dir, "journal"), Buffer.from([0, 0, 0, 99, 1, 0])); // half a record
    const b = open(dir);
    assert.equal(b.core.retained.size, 1);
    b.journal.close();
  });

  it("compacts when it doubles: a retained topic rewritten many times takes one record", () => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-journal-"));
    const a = open(dir);
    const p = a.client();
    p.send({ type: "connect", protocolVersion: 4, clientId: "p", clean: true, keepalive: 0 });
    const big = "x".repeat(10_000);
    for (let i = 0; i < 300; i++) p.send(pub("r/big", `${i}${big}`, 0, true));
    a.journal.close();
    assert.ok(statSync(join(dir, "journal")).size < 2_200_000, "bounded by compaction");
    const b = open(dir);
    const s = b.client();
    s.send({ type: "connect", protocolVersion: 4, clientId: "s", clean: true, keepalive: 0 });
    s.send({
      type: "subscribe",
      packetId: 1,
      subscriptions: [
        { filter: "r/big", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    const m = s.got.find((x) => x.type === "publish");
    assert.ok(m?.type === "publish" && Buffer.from(m.payload).toString().startsWith("299x"));
    b.journal.close();
  });
});
