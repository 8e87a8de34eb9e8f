import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { createBridgeComponent } from "../../src/bridge/bridge-component.ts";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import type { Component, ComponentFactory } from "../../src/runtime/component.ts";
import { createLogger } from "../../src/runtime/logger.ts";
import { freePort, waitFor } from "../helpers/ports.ts";

export interface Ledge {
  dir: string;
  port: number;
  broker: EmbeddedBroker;
  bridge: Component;
  logs: string[];
  stop(): Promise<void>;
}

/** ledge.toml text from flat keys. */
export function toml(values: Record<string, string | number | boolean>): string {
  return `${Object.entries(values)
    .map(([k, v]) => `"${k}" = ${typeof v === "string" ? JSON.stringify(v) : String(v)}`)
    .join("\n")}\n`;
}

/** An embedded broker plus the bridge component in this process, configured from `values`. */
export async function startLedge(
  values: Record<string, string | number | boolean>,
  dir = mkdtempSync(join(tmpdir(), "ledge-bridge-")),
  /** Components started before the bridge on the same context (e.g. the c8y mapper). */
  others: ComponentFactory[] = [],
): Promise<Ledge> {
  const port = await freePort();
  writeFileSync(join(dir, "ledge.toml"), toml({ "data.path": join(dir, "data"), ...values }));
  const config = loadConfig(dir, {});
  const logs: string[] = [];
  const log = createLogger({
    level: "debug",
    write: (l) => {
      logs.push(l);
      if (process.env.LEDGE_TEST_LOG) process.stderr.write(l);
    },
  });
  const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port, log: log.child("broker") });
  const bus = new LocalBus(broker.aedes);
  const ctx = { config, log, bus, clock: Date.now, broker };
  const extra: Component[] = [];
  for (const make of others) {
    const c = await make(ctx);
    await c.start();
    extra.push(c);
  }
  const bridge = createBridgeComponent(ctx) as Component;
  await bridge.start();
  return {
    dir,
    port,
    broker,
    bridge,
    logs,
    stop: async () => {
      await bridge.stop();
      for (const c of extra.reverse()) await c.stop();
      await broker.stop();
    },
  };
}

export async function client(port: number, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 100, ...opts });
}

/** Collects messages on `filter` (payloads as strings). */
export async function collect(c: MqttClient, filter: string): Promise<{ topic: string; payload: string }[]> {
  const got: { topic: string; payload: string }[] = [];
  c.on("message", (topic, payload) => {
    got.push({ topic, payload: payload.toString() });
  });
  await c.subscribeAsync(filter, { qos: 1 });
  return got;
}

export const tempDir = () => mkdtempSync(join(tmpdir(), "ledge-bridge-"));
export const rm = (d: string) => rmSync(d, { recursive: true, force: true });
export { waitFor };
