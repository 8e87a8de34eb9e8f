import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { createBridgeComponent } from "../../src/bridge/bridge-component.ts";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import type { Component, ComponentFactory } from "../../src/component/component.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
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

/**
 * Settings for device `id` with its client certificate, trusting the stand-in cloud's CA and bridged to
 * its TLS listener on `tlsPort`.
 */
export function c8yBridge(
  id: string,
  device: { cert: string; key: string },
  caCert: string,
  tlsPort: number,
): Record<string, string | number | boolean> {
  return {
    "device.id": id,
    "device.cert_path": device.cert,
    "device.key_path": device.key,
    "bridge.root_cert_path": caCert,
    "c8y.url": `127.0.0.1:${tlsPort}`,
    "bridge.c8y.enable": true,
  };
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
  const bus = new LocalBus(broker.core);
  const ctx = { config, log, bus, clock: Date.now, broker };
  const extra: Component[] = [];
  for (const make of others) {
    const c = await make(ctx);
    await c.start();
    extra.push(c);
  }
  const bridge = createBridgeComponent(ctx) as Component;
  await bridge.start().catch(async (e: unknown) => {
    for (const c of extra.reverse()) await c.stop();
    await broker.stop();
    throw e;
  });
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

const clients = new Set<MqttClient>();

export async function client(port: number, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 100, ...opts });
  clients.add(c);
  return c;
}

/** Ends every client made by `client()`: a failed test must not leave one reconnecting forever. */
export async function closeClients(): Promise<void> {
  await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => {})));
  clients.clear();
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

/**
 * A TCP relay to `target` that can refuse new connections: lets a test decide when a client may
 * reconnect to a restarted broker.
 */
export async function gate(target: number): Promise<{ port: number; open: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = {
    port: 0,
    open: true,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((down) => {
    if (!state.open) return down.destroy();
    const up = netConnect(target, "127.0.0.1");
    sockets.add(down).add(up);
    down.pipe(up).pipe(down);
    const end = () => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    for (const s of [down, up]) {
      s.on("error", end);
      s.on("close", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as { port: number }).port;
  return state;
}
