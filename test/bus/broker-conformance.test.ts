/**
 * One conformance suite, run against ledge's broker and against a real mosquitto in the same run
 * (a case that fails on mosquitto is wrong, or a documented deviation of mosquitto), with three
 * independent clients: MQTT.js, Debian's paho-mqtt and ledge's own.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import { encode } from "../../src/bus/mqtt/index.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { startMosquitto } from "../helpers/mosquitto.ts";
import { CLIENTS, type ClientKind, type Factory } from "../helpers/mqtt-clients.ts";
import { type Raw, rawClient } from "../helpers/mqtt-raw.ts";
import { waitFor } from "../helpers/ports.ts";

const log = createLogger({ level: "error" });

interface Broker {
  port: number;
  stop(): Promise<void>;
}

const BROKERS: Record<string, () => Promise<Broker>> = {
  ledge: async () => {
    const b = await EmbeddedBroker.start({ host: "127.0.0.1", port: 0, log, limits: { maxQueued: 1000 } });
    return { port: b.port, stop: () => b.stop() };
  },
  mosquitto: async () => {
    const m = await startMosquitto(["max_queued_messages 1000"]);
    return { port: m.port, stop: () => m.stop() };
  },
};

let n = 0;
const uid = () => `c${process.pid}x${++n}`;
const settle = () => new Promise((r) => setTimeout(r, 150));

for (const [brokerName, startBroker] of Object.entries(BROKERS)) {
  describe(`broker conformance on ${brokerName}`, () => {
    let broker: Broker;
    before(async () => {
      broker = await startBroker();
    });
    after(() => broker.stop());

    for (const kind of Object.keys(CLIENTS) as ClientKind[]) {
      const make: Factory = (port, o) =>
        CLIENTS[kind](port, { ...o, version: o.version ?? (kind === "ledge" ? 5 : 4) });
      const open = (o: Partial<Parameters<Factory>[1]> = {}) => make(broker.port, { clientId: uid(), ...o });

      describe(`client ${kind}`, () => {
        it("[MQTT-3.3.5-1] QoS 0, 1 and 2 arrive byte for byte at the lower of the published and subscribed QoS", async () => {
          const t = `conf/${uid()}`;
          const sub = await open();
          await sub.subscribe(`${t}/+`, 1);
          const pub = await open();
          const bytes = Buffer.from([0, 1, 2, 255, 10, 13]);
          for (const q of [0, 1, 2] as const) await pub.publish(`${t}/${q}`, bytes, q);
          await waitFor("three messages", () => sub.got.length >= 3 || undefined);
          const byTopic = Object.fromEntries(sub.got.map((m) => [m.topic, m]));
          for (const q of [0, 1, 2]) {
            assert.deepEqual(byTopic[`${t}/${q}`]?.payload, bytes);
            assert.equal(byTopic[`${t}/${q}`]?.qos, Math.min(q, 1));
          }
          await Promise.all([sub.end(), pub.end()]);
        });

        it("[MQTT-4.7.1-3] retained messages on subscribe: te/+/+/+/+ matches te/device/main//; [MQTT-3.3.1-10] an empty payload clears", async () => {
          const root = `te${uid()}`;
          const pub = await open();
          await pub.publish(`${root}/device/main//`, "main", 1, true);
          await pub.publish(`${root}/device/gone//`, "x", 1, true);
          await pub.publish(`${root}/device/gone//`, "", 1, true);
          await settle();
          const sub = await open();
          await sub.subscribe(`${root}/+/+/+/+`, 1);
          await waitFor("retained", () => sub.got.length >= 1 || undefined);
          await settle();
          assert.deepEqual(
            sub.got.map((m) => [m.topic, m.payload.toString(), m.retain]),
            [[`${root}/device/main//`, "main", true]],
          );
          await pub.publish(`${root}/device/main//`, "live", 0, true);
          await waitFor("live", () => sub.got.length >= 2 || undefined);
          assert.equal(sub.got[1]?.retain, false, "[MQTT-3.3.1-9] live messages are not flagged retained");
          await pub.publish(`${root}/device/main//`, "", 1, true);
          await Promise.all([sub.end(), pub.end()]);
        });

        it("[MQTT-4.7.2-1] '#' does not match $ topics; a filter starting with $ does", async () => {
          const t = `$conf/${uid()}`;
          const all = await open();
          await all.subscribe("#", 0);
          const dollar = await open();
          await dollar.subscribe(`${t}/#`, 0);
          const pub = await open();
          await pub.publish(`${t}/x`, "d", 1);
          await waitFor("$ subscriber", () => dollar.got.length >= 1 || undefined);
          await settle();
          assert.equal(all.got.filter((m) => m.topic.startsWith("$")).length, 0);
          await Promise.all([all.end(), dollar.end(), pub.end()]);
        });

        it("[MQTT-3.1.2-4] a persistent session keeps QoS 1 messages while the client is away; session present on return", async () => {
          const t = `conf/${uid()}`;
          const id = uid();
          const first = await open({ clientId: id, clean: false });
          await first.subscribe(t, 1);
          await first.end();
          const pub = await open();
          for (let i = 0; i < 3; i++) await pub.publish(t, `m${i}`, 1);
          const back = await open({ clientId: id, clean: false });
          assert.equal(back.sessionPresent, true);
          await waitFor("queued", () => back.got.length >= 3 || undefined);
          assert.deepEqual(
            back.got.map((m) => m.payload.toString()),
            ["m0", "m1", "m2"],
          );
          await Promise.all([back.end(), pub.end()]);
          const clean = await open({ clientId: id, clean: true });
          assert.equal(clean.sessionPresent, false, "[MQTT-3.2.2-2] clean session: no session present");
          await clean.end();
        });

        it("[MQTT-3.1.2-8] the will is published when the client vanishes; [MQTT-3.1.2-10] not after DISCONNECT", async () => {
          const t = `conf/${uid()}/will`;
          const watch = await open();
          await watch.subscribe(t, 1);
          const polite = await open({ will: { topic: t, payload: "polite", qos: 1, retain: false } });
          await polite.end();
          const rude = await open({ will: { topic: t, payload: "rude", qos: 1, retain: false } });
          await rude.kill();
          await waitFor("will", () => watch.got.length >= 1 || undefined);
          await settle();
          assert.deepEqual(
            watch.got.map((m) => m.payload.toString()),
            ["rude"],
          );
          await watch.end();
        });

        if (kind !== "paho") {
          const v5 = (o: Partial<Parameters<Factory>[1]> = {}) => open({ version: 5, ...o });

          it("[MQTT-3.3.2-17..20] v5: user properties, response topic and correlation data reach the subscriber unaltered", async () => {
            const t = `conf/${uid()}`;
            const sub = await v5();
            await sub.subscribe(t, 1);
            const pub = await v5();
            await pub.publish(t, "req", 1, false, {
              userProperties: [["k", "v"]],
              responseTopic: `${t}/reply`,
              correlationData: Buffer.from("c1"),
            });
            await waitFor("message", () => sub.got.length >= 1 || undefined);
            const p = sub.got[0]?.properties;
            assert.deepEqual({ ...p?.userProperties }, { k: "v" });
            assert.equal(p?.responseTopic, `${t}/reply`);
            assert.equal(Buffer.from(p?.correlationData ?? []).toString(), "c1");
            await Promise.all([sub.end(), pub.end()]);
          });

          it("[MQTT-3.8.3-3] v5 no local: a client's own messages are not sent back to it", async () => {
            const t = `conf/${uid()}`;
            const me = await v5();
            await me.subscribe(t, 1, { noLocal: true });
            const other = await v5();
            await other.subscribe(t, 1, { noLocal: true });
            await me.publish(t, "mine", 1);
            await waitFor("other", () => other.got.length >= 1 || undefined);
            await settle();
            assert.equal(me.got.length, 0);
            await Promise.all([me.end(), other.end()]);
          });

          it("[MQTT-3.8.2.1.2] v5 subscription identifiers come back with matching messages", async () => {
            const t = `conf/${uid()}`;
            const sub = await v5();
            await sub.subscribe(`${t}/#`, 1, { id: 7 });
            const pub = await v5();
            await pub.publish(`${t}/x`, "id", 1);
            await waitFor("message", () => sub.got.length >= 1 || undefined);
            const ids = sub.got[0]?.properties?.subscriptionIdentifier;
            assert.deepEqual(Array.isArray(ids) ? ids : [ids], [7]);
            await Promise.all([sub.end(), pub.end()]);
          });

          it("[MQTT-4.8.2] v5 shared subscription: each message goes to one member of the group", async () => {
            const t = `conf/${uid()}`;
            const a = await v5();
            const b = await v5();
            await a.subscribe(`$share/g/${t}`, 1);
            await b.subscribe(`$share/g/${t}`, 1);
            const pub = await v5();
            for (let i = 0; i < 10; i++) await pub.publish(t, `${i}`, 1);
            await waitFor("all ten", () => a.got.length + b.got.length >= 10 || undefined);
            await settle();
            assert.equal(a.got.length + b.got.length, 10);
            assert.ok(a.got.length > 0 && b.got.length > 0, `spread: ${a.got.length}/${b.got.length}`);
            await Promise.all([a.end(), b.end(), pub.end()]);
          });

          it("[MQTT-3.8.3.1] v5 retain handling 2: no retained messages on subscribe", async () => {
            const t = `conf/${uid()}`;
            const pub = await v5();
            await pub.publish(t, "kept", 1, true);
            const no = await v5();
            await no.subscribe(t, 1, { retainHandling: 2 });
            const yes = await v5();
            await yes.subscribe(t, 1);
            await waitFor("positive control", () => yes.got.length >= 1 || undefined);
            await settle();
            assert.equal(no.got.length, 0);
            await pub.publish(t, "", 1, true);
            await Promise.all([pub.end(), no.end(), yes.end()]);
          });
        }
      });
    }

    describe("raw connections", () => {
      it("garbage after CONNECT closes that connection only", async () => {
        const watch = await CLIENTS["mqtt.js"](broker.port, { clientId: uid() });
        await watch.subscribe("conf/garbage", 0);
        const raw = await rawClient(broker.port);
        raw.send({ type: "connect", protocolVersion: 4, clientId: uid(), clean: true, keepalive: 0 });
        await waitFor("connack", () => raw.got.find((p) => p.type === "connack"));
        raw.sock.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 2, 3]));
        await waitFor("closed", () => raw.closed || undefined);
        const pub = await CLIENTS["mqtt.js"](broker.port, { clientId: uid() });
        await pub.publish("conf/garbage", "still serving", 1);
        await waitFor("still serving", () => watch.got.length >= 1 || undefined);
        await Promise.all([watch.end(), pub.end()]);
      });

      it("1,000 connections each subscribe and get one message", async () => {
        const conns: Raw[] = [];
        for (let i = 0; i < 1000; i++) conns.push(await rawClient(broker.port));
        for (const c of conns) {
          c.send({ type: "connect", protocolVersion: 4, clientId: uid(), clean: true, keepalive: 0 });
          c.send({
            type: "subscribe",
            packetId: 1,
            subscriptions: [
              {
                filter: "conf/thousand",
                qos: 0,
                noLocal: false,
                retainAsPublished: false,
                retainHandling: 0,
              },
            ],
          });
        }
        await waitFor(
          "1,000 SUBACKs",
          () => conns.every((c) => c.got.some((p) => p.type === "suback")) || undefined,
          30_000,
        );
        const pub = await CLIENTS.ledge(broker.port, { clientId: uid() });
        await pub.publish("conf/thousand", "all", 1);
        await waitFor(
          "1,000 deliveries",
          () => conns.every((c) => c.got.some((p) => p.type === "publish")) || undefined,
          30_000,
        );
        for (const c of conns) c.sock.destroy();
        await pub.end();
      });

      it("a subscriber that stops reading 100k messages does not delay a second pair (p95 < 1 s)", async () => {
        const stuck = await rawClient(broker.port);
        stuck.send({ type: "connect", protocolVersion: 4, clientId: uid(), clean: true, keepalive: 0 });
        stuck.send({
          type: "subscribe",
          packetId: 1,
          subscriptions: [
            { filter: "stuck/#", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
          ],
        });
        await waitFor("suback", () => stuck.got.find((p) => p.type === "suback"));
        stuck.sock.pause(); // stops reading: the kernel buffers fill, then the broker's queue for it
        const flood = await rawClient(broker.port);
        flood.send({ type: "connect", protocolVersion: 4, clientId: uid(), clean: true, keepalive: 0 });
        const sub = await CLIENTS.ledge(broker.port, { clientId: uid() });
        await sub.subscribe("pair/#", 1);
        const pub = await CLIENTS.ledge(broker.port, { clientId: uid() });
        const payload = new Uint8Array(200);
        const latencies: number[] = [];
        const pairing = (async () => {
          for (let i = 0; i < 50; i++) {
            const t0 = performance.now();
            await pub.publish(`pair/${i}`, `${i}`, 1);
            await waitFor(
              "pair message",
              () => sub.got.some((m) => m.topic === `pair/${i}`) || undefined,
              10_000,
              1,
            );
            latencies.push(performance.now() - t0);
          }
        })();
        for (let i = 0; i < 100_000; i += 1000) {
          const batch = Buffer.concat(
            Array.from({ length: 1000 }, (_, k) =>
              encode(
                {
                  type: "publish",
                  topic: `stuck/${(i + k) % 10}`,
                  payload,
                  qos: 0,
                  retain: false,
                  dup: false,
                },
                4,
              ),
            ),
          );
          if (!flood.sock.write(batch)) await new Promise((r) => flood.sock.once("drain", r));
        }
        await pairing;
        latencies.sort((a, b) => a - b);
        const p95 = latencies[Math.floor(latencies.length * 0.95)] as number;
        assert.ok(p95 < 1000, `p95 ${p95.toFixed(0)} ms`);
        stuck.sock.destroy();
        flood.sock.destroy();
        await Promise.all([sub.end(), pub.end()]);
      });
    });
  });
}
