import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import type { Bus, BusMessage } from "../../src/bus/bus.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { MqttBus } from "../../src/bus/mqtt-bus.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";
import { freePort, waitFor } from "../helpers/ports.ts";

const log = createLogger({ level: "error" });

interface Setup {
  /** Two independent buses on the same broker: one publishes, the other subscribes. */
  a: Bus;
  b: Bus;
  restartBroker?: () => Promise<void>;
  /** MqttBus over MQTT 3.1.1: nothing tells a handler which subscription a retained message answers. */
  v311?: boolean;
  close(): Promise<void>;
}

const collect = () => {
  const got: BusMessage[] = [];
  return { got, handler: (m: BusMessage) => got.push(m) };
};

/** One suite, rerun for every Bus implementation and broker. */
function busSuite(name: string, setup: () => Promise<Setup>) {
  describe(name, () => {
    let s: Setup;
    let n = 0;
    const topic = () => `suite/${process.pid}/${++n}`;
    before(async () => {
      s = await setup();
    });
    after(async () => s.close());

    it("delivers a published message byte for byte", async () => {
      const t = topic();
      const c = collect();
      await s.b.subscribe(t, c.handler);
      const payload = Buffer.from([0, 1, 2, 255, 10, 13]);
      await s.a.publish(t, payload, { qos: 1 });
      await waitFor("message", () => c.got.length > 0 || undefined);
      assert.deepEqual(c.got[0]?.payload, payload);
      assert.equal(c.got[0]?.retain, false);
    });

    it("delivers retained messages on subscribe, flagged retained", async () => {
      const t = topic();
      // QoS 1: acknowledged once the broker holds it, retained state included
      await s.a.publish(t, "kept", { retain: true, qos: 1 });
      const c = collect();
      await s.b.subscribe(`${t.split("/").slice(0, -1).join("/")}/+`, c.handler);
      await waitFor("retained", () => c.got.find((m) => m.topic === t));
      assert.equal(c.got.find((m) => m.topic === t)?.retain, true);
      await s.a.publish(t, "", { retain: true, qos: 1 });
    });

    it("overlapping subscriptions: each handler gets exactly one copy", async () => {
      const t = topic();
      const base = t.split("/").slice(0, -1).join("/");
      const h1 = collect();
      const h2 = collect();
      await s.b.subscribe([`${base}/#`, t], h1.handler);
      await s.b.subscribe(`${base}/+`, h2.handler);
      await s.a.publish(t, "once", { qos: 1 });
      // a marker after it on the same connections: once both have it, any second copy has arrived too
      const marker = `${base}/marker`;
      await s.a.publish(marker, "end", { qos: 1 });
      await waitFor(
        "marker",
        () => (h1.got.some((m) => m.topic === marker) && h2.got.some((m) => m.topic === marker)) || undefined,
      );
      assert.equal(h1.got.filter((m) => m.topic === t).length, 1);
      assert.equal(h2.got.filter((m) => m.topic === t).length, 1);
    });

    it("a second handler on the same filter gets the retained state; the first does not get it again", async () => {
      // Outside suite/ so no earlier test's wildcard subscription also delivers the publish live.
      const t = `solo/${process.pid}/${++n}`;
      await s.a.publish(t, "state", { retain: true, qos: 1 });
      const h1 = collect();
      const h2 = collect();
      await s.b.subscribe(t, h1.handler);
      await waitFor("first handler's retained", () => h1.got.length || undefined);
      await s.b.subscribe(t, h2.handler);
      await waitFor("second handler's retained", () => h2.got.length || undefined);
      await s.a.publish(t, "live", { qos: 1 });
      await s.a.publish(t, "end", { qos: 1 });
      const ended = (h: typeof h1) => h.got.some((m) => m.payload.toString() === "end");
      await waitFor("live to both", () => (ended(h1) && ended(h2)) || undefined);
      assert.deepEqual(
        h1.got.map((m) => m.payload.toString()),
        ["state", "live", "end"],
      );
      assert.deepEqual(
        h2.got.map((m) => m.payload.toString()),
        ["state", "live", "end"],
      );
      await s.a.publish(t, "", { retain: true, qos: 1 });
    });

    it("unsubscribe stops delivery to that handler only", async () => {
      const t = topic();
      const h1 = collect();
      const h2 = collect();
      const sub1 = await s.b.subscribe(t, h1.handler);
      await s.b.subscribe(t, h2.handler);
      await sub1.unsubscribe();
      await s.a.publish(t, "x", { qos: 1 });
      await s.a.publish(t, "end", { qos: 1 });
      // "x" would reach h1 before "end" reaches h2: one connection, in order
      await waitFor("h2", () => h2.got.some((m) => m.payload.toString() === "end") || undefined);
      assert.equal(h1.got.length, 0);
      assert.equal(h2.got.length, 2, "positive control: the subscription that stays gets both");
    });

    it("retainedTopics lists the retained topics under filters, and no handler of the bus sees them", async () => {
      const base = `scan/${process.pid}/${++n}`;
      const h = collect();
      await s.b.subscribe(`${base}/#`, h.handler);
      // after the handler subscribed: it sees them live, never flagged retained
      await s.a.publish(`${base}/r1`, "1", { retain: true, qos: 1 });
      await s.a.publish(`${base}/r2/x`, "2", { retain: true, qos: 1 });
      await s.a.publish(`${base}/live`, "3", { qos: 1 });
      await s.a.publish(`${base}/gone`, "4", { retain: true, qos: 1 });
      await s.a.publish(`${base}/gone`, "", { retain: true, qos: 1 });
      const found = await s.b.retainedTopics([`${base}/+`, `${base}/r2/#`, `${base}/none`]);
      assert.deepEqual(found.sort(), [`${base}/r1`, `${base}/r2/x`]);
      await s.a.publish(`${base}/marker`, "end", { qos: 1 });
      await waitFor("marker", () => h.got.some((m) => m.topic === `${base}/marker`) || undefined);
      assert.deepEqual(
        h.got.filter((m) => m.retain).map((m) => m.topic),
        [],
        "the look-up delivered nothing to the bus's handlers",
      );
      if (s.v311) {
        // positive control: the same look-up on the shared connection reaches the handler
        const extra = await s.b.subscribe(`${base}/+`, () => {});
        await waitFor("a retained copy", () => h.got.find((m) => m.retain && m.topic === `${base}/r1`));
        await extra.unsubscribe();
      }
      assert.deepEqual(await s.b.retainedTopics([]), []);
      await assert.rejects(s.b.retainedTopics(["a/#/b"]), /'#' must be the last/);
    });

    it("refuses wildcard publish topics and malformed filters", async () => {
      await assert.rejects(s.a.publish("a/+/b", "x"), /wildcard/);
      await assert.rejects(s.a.publish("", "x"), /empty/);
      // again, after a valid topic and twice in a row (LocalBus remembers the last valid topic)
      await s.a.publish("refused/ok", "x");
      await assert.rejects(s.a.publish("a/+/b", "x"), /wildcard/);
      await assert.rejects(s.a.publish("a/+/b", "x"), /wildcard/);
      await assert.rejects(s.a.publish("", "x"), /empty/);
      if (s.a.publishNow) {
        s.a.publishNow("refused/ok", "x");
        assert.throws(() => s.a.publishNow?.("", "x"), /empty/);
        assert.throws(() => s.a.publishNow?.("a/#", "x"), /wildcard/);
      }
      await assert.rejects(
        s.b.subscribe("a/#/b", () => {}),
        /'#' must be the last/,
      );
    });

    it("a throwing handler does not stop delivery to others", async () => {
      const t = topic();
      const c = collect();
      await s.b.subscribe(t, () => {
        throw new Error("boom");
      });
      await s.b.subscribe(t, c.handler);
      await s.a.publish(t, "1", { qos: 1 });
      await s.a.publish(t, "2", { qos: 1 });
      await waitFor("two", () => c.got.length >= 2 || undefined);
    });

    it("survives a broker restart and resumes its subscriptions", async (t) => {
      if (!s.restartBroker) return t.skip("in-process bus has no separate broker to restart");
      const topicName = topic();
      const c = collect();
      await s.b.subscribe(topicName, c.handler);
      await s.restartBroker();
      await waitFor(
        "reconnected and delivering",
        async () => {
          await s.a.publish(topicName, "after", { qos: 1 }).catch(() => {});
          return c.got.length > 0 || undefined;
        },
        20_000,
        300,
      );
    });
  });
}

busSuite("LocalBus on the embedded broker (in-process fast path)", async () => {
  const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: await freePort(), log });
  const a = new LocalBus(broker.core);
  const b = new LocalBus(broker.core);
  return { a, b, close: () => broker.stop() };
});

for (const version of [4, 5] as const) {
  busSuite(`MqttBus (MQTT ${version === 4 ? "3.1.1" : "5"}) on the embedded broker`, async () => {
    const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: await freePort(), log });
    const opts = { host: "127.0.0.1", port: broker.port, protocolVersion: version, log };
    const a = await MqttBus.connect({ ...opts, clientId: "suite-a" });
    const b = await MqttBus.connect({ ...opts, clientId: "suite-b" });
    return {
      a,
      b,
      v311: version === 4,
      close: async () => {
        await a.close();
        await b.close();
        await broker.stop();
      },
    };
  });
}

busSuite("MqttBus (MQTT 5) on mosquitto", async () => {
  const mosq: Mosquitto = await startMosquitto();
  const opts = { host: "127.0.0.1", port: mosq.port, protocolVersion: 5 as const, log };
  const a = await MqttBus.connect({ ...opts, clientId: "suite-a" });
  const b = await MqttBus.connect({ ...opts, clientId: "suite-b" });
  return {
    a,
    b,
    restartBroker: () => mosq.restart(),
    close: async () => {
      await a.close();
      await b.close();
      await mosq.stop();
    },
  };
});

/** An embedded broker on a free port with its in-process bus; `remote` connects MQTT 3.1.1 network clients. */
async function withEmbeddedBroker(
  body: (b: { local: LocalBus; remote(clientId: string): Promise<MqttBus> }) => Promise<void>,
): Promise<void> {
  const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: await freePort(), log });
  try {
    const remote = (clientId: string) =>
      MqttBus.connect({ host: "127.0.0.1", port: broker.port, protocolVersion: 4, log, clientId });
    await body({ local: new LocalBus(broker.core), remote });
  } finally {
    await broker.stop();
  }
}

describe("embedded broker retained matching", () => {
  it("'+' matches empty levels in retained messages too (te/+/+/+/+ sees te/device/main//) [MQTT-4.7.1-3]", () =>
    withEmbeddedBroker(async ({ local, remote: connect }) => {
      await local.publish("te/device/main//", '{"@type":"device"}', { retain: true, qos: 1 });
      await local.publish("te/device/child1//", '{"@type":"child-device"}', { retain: true, qos: 1 });
      const remote = await connect("r");
      for (const bus of [local, remote]) {
        const c = collect();
        await bus.subscribe("te/+/+/+/+", c.handler);
        await waitFor("both retained registrations", () => c.got.length >= 2 || undefined);
        assert.deepEqual(c.got.map((m) => m.topic).sort(), ["te/device/child1//", "te/device/main//"]);
      }
      await remote.close();
    }));
});

describe("embedded broker ordering", () => {
  it("an in-process retained message followed by a plain one: a remote subscriber gets both", () =>
    withEmbeddedBroker(async ({ local, remote: connect }) => {
      const remote = await connect("o");
      for (let i = 0; i < 20; i++) {
        const c = collect();
        const sub = await remote.subscribe([`te/device/x${i}//`, `c8y/s/us/${i}`], c.handler);
        await Promise.all([
          local.publish(`te/device/x${i}//`, '{"@type":"child-device"}', { retain: true, qos: 1 }),
          local.publish(`c8y/s/us/${i}`, "101,x", { qos: 0 }),
        ]);
        await waitFor(`both messages of round ${i}`, () => c.got.length >= 2 || undefined, 3000);
        await sub.unsubscribe();
      }
      await remote.close();
    }));

  it("QoS 1, QoS 0, QoS 1 published in one tick all reach a network subscriber", () =>
    withEmbeddedBroker(async ({ local, remote: connect }) => {
      const remote = await connect("q");
      const c = collect();
      await remote.subscribe("te/#", c.handler, { qos: 1 });
      await Promise.all([
        local.publish("te/m", "m1", { qos: 1 }),
        local.publish("te/e", "e1", { qos: 0 }),
        local.publish("te/m", "m2", { qos: 1 }),
      ]);
      await waitFor("all three", () => c.got.length >= 3 || undefined, 3000);
      assert.deepEqual(c.got.map((m) => m.payload.toString()).sort(), ["e1", "m1", "m2"]);
      await remote.close();
    }));

  it("a burst of 20k in-process messages is delivered completely (no recursion per queued message)", () =>
    withEmbeddedBroker(async ({ local: bus }) => {
      let n = 0;
      await bus.subscribe("burst/#", () => {
        n++;
      });
      await Promise.all(Array.from({ length: 20_000 }, (_, i) => bus.publish(`burst/${i % 10}`, String(i))));
      await waitFor("20k delivered", () => n === 20_000 || undefined, 20_000);
    }));
});

describe("LocalBus publishNow", () => {
  it("checks every topic, the first one of a new bus included, and publishes at once", async () => {
    const broker = await EmbeddedBroker.create({ host: "127.0.0.1", port: 0, log });
    try {
      const bus = new LocalBus(broker.core);
      assert.throws(() => bus.publishNow("", "x"), /empty/);
      const got: string[] = [];
      await bus.subscribe("now/+", (m) => got.push(`${m.topic}:${m.payload}`));
      bus.publishNow("now/a", "1");
      bus.publishNow("now/a", "2");
      assert.throws(() => bus.publishNow("now/+", "x"), /wildcard/);
      assert.deepEqual(got, ["now/a:1", "now/a:2"]);
    } finally {
      await broker.stop();
    }
  });
});

describe("LocalBus handler errors", () => {
  it("a handler that throws on a retained message costs that message, not the subscription", async () => {
    const broker = await EmbeddedBroker.create({ host: "127.0.0.1", port: 0, log });
    try {
      const failed: string[] = [];
      const bus = new LocalBus(broker.core, (_e, topic) => failed.push(topic));
      await bus.publish("t/1", "bad", { retain: true, qos: 1 });
      await bus.publish("t/2", "good", { retain: true, qos: 1 });
      const got: string[] = [];
      await bus.subscribe("t/+", (m) => {
        if (m.payload.toString() === "bad") throw new Error("handler bug");
        got.push(m.topic);
      });
      assert.deepEqual(failed, ["t/1"]);
      assert.deepEqual(got, ["t/2"]);
    } finally {
      await broker.stop();
    }
  });
});
