/**
 * Deregistration clears every retained message of the entity and its descendants, found on the
 * broker at that moment (issue 12, point 6): nothing is remembered per topic, so live messages cost
 * the api no memory. On ledge's broker in-process (LocalBus), over MQTT to ledge's broker (the api
 * in its own process) and over MQTT to a real mosquitto (mqtt.broker = external).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import mqtt, { type MqttClient } from "mqtt";
import { ApiComponent } from "../../src/api/api-component.ts";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import type { Bus } from "../../src/bus/bus.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { MqttBus } from "../../src/bus/mqtt-bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { startMosquitto } from "../helpers/mosquitto.ts";
import { freePort, waitFor } from "../helpers/ports.ts";

const log = createLogger({ level: "error" });

interface Env {
  api: ApiComponent;
  client: MqttClient;
  bus: Bus;
  port: number;
  stop(): Promise<void>;
}

type Kind =
  | "ledge broker, in-process"
  | "ledge broker, over MQTT"
  | "external mosquitto"
  | "external mosquitto sending 10 retained messages per subscription";

async function start(kind: Kind): Promise<Env> {
  const mosq = kind.startsWith("external mosquitto")
    ? // a small byte budget per client: mosquitto then drops most of a large retained set (QoS 0)
      await startMosquitto(
        kind.endsWith("subscription") ? ["max_queued_messages 10", "max_queued_bytes 1000"] : [],
      )
    : undefined;
  const broker = mosq
    ? undefined
    : await EmbeddedBroker.start({ host: "127.0.0.1", port: await freePort(), log });
  const port = mosq?.port ?? (broker as EmbeddedBroker).port;
  const bus: Bus =
    kind === "ledge broker, in-process"
      ? new LocalBus((broker as EmbeddedBroker).core)
      : await MqttBus.connect({
          host: "127.0.0.1",
          port,
          clientId: "ledge-test-api",
          protocolVersion: 5,
          log,
        });
  const data = mkdtempSync(join(tmpdir(), "ledge-dereg-"));
  const config = loadConfig(mkdtempSync(join(tmpdir(), "ledge-dereg-cfg-")), {}).with({ "data.path": data });
  const api = new ApiComponent({ config, log, bus, clock: Date.now });
  await api.start();
  const client = await mqtt.connectAsync({ host: "127.0.0.1", port, clientId: `t-${Math.random()}` });
  return {
    api,
    client,
    bus,
    port,
    stop: async () => {
      await client.endAsync(true);
      await api.stop();
      await bus.close();
      await broker?.stop();
      await mosq?.stop();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/**
 * The retained messages a fresh subscriber gets for `filters`: a second SUBSCRIBE to a sentinel's
 * retained topic follows, and its message arrives after theirs (QoS 0, one small burst).
 */
async function retainedUnder(
  port: number,
  filters: string[],
  sentinel: string,
): Promise<Map<string, string>> {
  const c = await mqtt.connectAsync({ host: "127.0.0.1", port, clientId: `r-${Math.random()}` });
  const got = new Map<string, string>();
  let done = false;
  c.on("message", (topic, payload, packet) => {
    if (topic === sentinel) done = true;
    else if (packet.retain && !done) got.set(topic, payload.toString());
  });
  await c.subscribeAsync(filters, { qos: 0 });
  await c.subscribeAsync(sentinel, { qos: 0 });
  await waitFor("sentinel", () => done || undefined);
  await c.endAsync(true);
  return got;
}

const pub = (c: MqttClient, topic: string, payload: string | object, retain: boolean, qos: 0 | 1 = 1) =>
  c.publishAsync(topic, typeof payload === "string" ? payload : JSON.stringify(payload), { retain, qos });

/** The retained topics of one entity on every channel the api once kept books on, and others. */
function entityTopics(id: string, n: number): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 6;
    if (k === 0) out.push([`te/${id}/a/t${i}`, '{"text":"hot"}']);
    else if (k === 1) out.push([`te/${id}/twin/v${i}`, `${i}`]);
    else if (k === 2) out.push([`te/${id}/cmd/restart/c${i}`, '{"status":"init"}']);
    else if (k === 3) out.push([`te/${id}/status/s${i}`, '{"status":"up"}']);
    else if (k === 4) out.push([`te/${id}/m/t${i}/meta`, '{"temp":{"unit":"C"}}']);
    else out.push([`te/${id}/e/ev${i}`, '{"text":"kept"}']);
  }
  return out;
}

for (const kind of [
  "ledge broker, in-process",
  "ledge broker, over MQTT",
  "external mosquitto",
  "external mosquitto sending 10 retained messages per subscription",
] as const satisfies Kind[]) {
  describe(`deregistration clears every retained topic (${kind})`, () => {
    let env: Env;
    let port: number;
    before(async () => {
      env = await start(kind);
      port = env.port;
    });
    after(async () => await env?.stop());

    it("clears all of them (more than the 256 the old bookkeeping kept), descendants too, no one else's", async () => {
      const { client, api } = env;
      await pub(client, "te/device/big//", { "@type": "child-device" }, true);
      await pub(client, "te/device/big/service/s", { "@type": "service", "@parent": "device/big//" }, true);
      // shares the prefix `te/device/big` but is another entity: must stay
      await pub(client, "te/device/bigger//", { "@type": "child-device" }, true);
      await waitFor(
        "registered",
        () => api.store.get("device/big/service/s") && api.store.get("device/bigger//"),
      );
      const mine = [...entityTopics("device/big//", 400), ...entityTopics("device/big/service/s", 50)];
      for (const [t, p] of mine) await pub(client, t, p, true);
      await pub(client, "te/device/bigger///a/x", '{"text":"stays"}', true);
      const filters = ["te/device/big///#", "te/device/big/service/s/#"];
      // the check sees them all before (its positive control)
      const before = await retainedUnder(port, filters, "te/device/bigger///a/x");
      if (kind.endsWith("subscription"))
        assert.ok(before.size < mine.length / 2, `one subscription gets part of the set: ${before.size}`);
      else assert.equal(before.size, mine.length + 2, "both registrations and every topic");

      await pub(client, "te/device/big//", "", true);
      await waitFor("deregistered", () => (api.store.get("device/big/service/s") ? undefined : true));
      await api.swept();
      const left = await retainedUnder(port, filters, "te/device/bigger///a/x");
      assert.deepEqual([...left.keys()], []);
      const other = await retainedUnder(port, ["te/device/bigger//"], "te/device/bigger///a/x");
      assert.ok(other.get("te/device/bigger//"), "the other entity's registration stays");
    });

    it("a re-registration during the sweep keeps what it publishes after it", async () => {
      const { client, api } = env;
      await pub(client, "te/device/again//", { "@type": "child-device" }, true);
      await waitFor("registered", () => api.store.get("device/again//"));
      await pub(client, "te/device/again///twin/old", "1", true);
      await pub(client, "te/device/again//", "", true);
      await waitFor("deregistered", () => (api.store.get("device/again//") ? undefined : true));
      await api.swept();
      await pub(client, "te/device/again//", { "@type": "child-device" }, true);
      await pub(client, "te/device/again///twin/new", "2", true);
      await waitFor("registered again", () => api.store.get("device/again//"));
      await api.swept();
      const left = await retainedUnder(port, ["te/device/again///#"], "te/device/bigger///a/x");
      assert.deepEqual([...left.keys()].sort(), ["te/device/again//", "te/device/again///twin/new"]);
    });
  });
}

describe("live messages on the retained channels cost the api nothing (ledge broker, in-process)", () => {
  let env: Env;
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const heap = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    return process.memoryUsage().heapUsed;
  };
  const ENTITIES = 200;
  const PER_ENTITY = 250; // within the old per-entity bound of 256: the old bookkeeping kept all 50,000
  const flood = async (retain: boolean, entities = ENTITIES) => {
    for (let e = 0; e < entities; e++) {
      // in-process publishes (as ledge's own components make): the api sees them as it sees a client's
      for (const [t, p] of entityTopics(`device/live${e}//`, PER_ENTITY))
        await env.bus.publish(t, p, { retain });
    }
  };
  before(async () => {
    env = await start("ledge broker, in-process");
    for (let e = 0; e < ENTITIES; e++)
      await pub(env.client, `te/device/live${e}//`, { "@type": "child-device" }, true);
    await waitFor("registered", () => (env.api.store.size > ENTITIES ? true : undefined));
  });
  after(async () => await env?.stop());

  it(`${ENTITIES * PER_ENTITY} live topics of registered entities: the heap does not grow with them`, async () => {
    await flood(false, 10); // warm-up: code paths, buffers
    const base = await heap();
    await flood(false);
    const live = (await heap()) - base;
    // positive control: the same topics kept (retained by the broker) are plainly visible
    const base2 = await heap();
    await flood(true);
    const kept = (await heap()) - base2;
    assert.ok(kept > 4_000_000, `the measure sees ${ENTITIES * PER_ENTITY} kept topics: ${kept} bytes`);
    // the old bookkeeping grew it by ~34 bytes per topic (1.7 MB here); now it is noise
    assert.ok(live < ENTITIES * PER_ENTITY * 8, `live topics grew the heap by ${live} bytes (kept: ${kept})`);
  });
});
