/**
 * Integration harness for mapper components: a real broker (embedded aedes with the in-process
 * LocalBus, or a real mosquitto with an MqttBus), the component under test, and a plain mqtt.js
 * client that plays devices, agent and cloud and records everything it sees.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import type { Bus } from "../../src/bus/bus.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { MqttBus } from "../../src/bus/mqtt-bus.ts";
import type { Component, ComponentFactory, Context } from "../../src/component/component.ts";
import type { ConfigValues } from "../../src/config/schema.ts";
import { type Config, loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { type Mosquitto, startMosquitto } from "./mosquitto.ts";
import { freePort, waitFor } from "./ports.ts";

export type BrokerKind = "embedded" | "mosquitto";

export interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

export interface Harness {
  client: MqttClient;
  /** The mappers' configuration (its `dir` is a fresh config dir). */
  config: Config;
  seen: Seen[];
  /** Waits for a message on `topic` (optionally with exactly `payload`) after index `from`. */
  expect(topic: string, payload?: string, from?: number): Promise<Seen>;
  publish(topic: string, payload: string | object, opts?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(
  kind: BrokerKind,
  factories: ComponentFactory[],
  overrides: Partial<ConfigValues> = {},
  subscriptions: string[] = ["c8y/#", "az/#", "aws/#", "ledge/#", "te/errors", "te/+/+/+/+/cmd/+/+"],
): Promise<Harness> {
  const log = createLogger({ level: "error" });
  let broker: EmbeddedBroker | undefined;
  let mosquitto: Mosquitto | undefined;
  let bus: Bus;
  let port: number;
  if (kind === "embedded") {
    broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: await freePort(), log });
    bus = new LocalBus(broker.core);
    port = broker.port;
  } else {
    mosquitto = await startMosquitto();
    port = mosquitto.port;
    bus = await MqttBus.connect({
      host: "127.0.0.1",
      port,
      clientId: "ledge-test-mapper",
      protocolVersion: 5,
      log,
    });
  }
  const config = loadConfig(mkdtempSync(join(tmpdir(), "ledge-mappers-")), {}).with({
    "device.id": "test-device",
    ...overrides,
  });
  const ctx: Context = { config, log, bus, clock: Date.now };
  const components: Component[] = [];
  for (const f of factories) {
    const c = await f(ctx);
    await c.start();
    components.push(c);
  }
  const client = await mqtt.connectAsync({
    host: "127.0.0.1",
    port,
    clientId: `test-${process.pid}-${Math.random()}`,
  });
  const seen: Seen[] = [];
  client.on("message", (topic, payload, packet) =>
    seen.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  await client.subscribeAsync(subscriptions, { qos: 1 });
  return {
    client,
    config,
    seen,
    expect: (topic, payload, from = 0) =>
      waitFor(`${topic} ${payload ?? ""}`, () =>
        seen.slice(from).find((s) => s.topic === topic && (payload === undefined || s.payload === payload)),
      ),
    publish: async (topic, payload, opts = {}) => {
      await client.publishAsync(topic, typeof payload === "string" ? payload : JSON.stringify(payload), {
        qos: opts.qos ?? 1,
        retain: opts.retain ?? false,
      });
    },
    stop: async () => {
      await client.endAsync(true);
      for (const c of components.reverse()) await c.stop();
      await bus.close();
      await broker?.stop();
      await mosquitto?.stop();
    },
  };
}
