import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { AgentComponent, type AgentFileHooks, type AgentOverrides } from "../../src/agent/agent-component.ts";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import type { Bus } from "../../src/bus/bus.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { MqttBus } from "../../src/bus/mqtt-bus.ts";
import type { ConfigValues } from "../../src/config/schema.ts";
import { type Config, loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { type Mosquitto, startMosquitto } from "./mosquitto.ts";
import { freePort, waitFor } from "./ports.ts";

export const log = createLogger({ level: (process.env.LEDGE_TEST_LOG as "debug") ?? "error" });

/** A test environment: a broker (embedded or mosquitto), the bus, an mqtt.js client driving te/. */
export interface AgentEnv {
  dir: string;
  config: Config;
  bus: Bus;
  brokerPort: number;
  client: MqttClient;
  /** Last payload per topic seen by the client. */
  seen: Map<string, Buffer>;
  agent?: AgentComponent;
  startAgent(overrides?: AgentOverrides, files?: AgentFileHooks): Promise<AgentComponent>;
  stopAgent(): Promise<void>;
  command(op: string, id: string, payload: Record<string, unknown>): Promise<void>;
  waitStatus(op: string, id: string, status: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  plugin(name: string, script: string): string;
  close(): Promise<void>;
}

export async function agentEnv(
  kind: "embedded" | "mosquitto",
  values: Partial<ConfigValues> = {},
): Promise<AgentEnv> {
  const dir = mkdtempSync(join(tmpdir(), "ledge-agent-"));
  mkdirSync(join(dir, "plugins"));
  const config = loadConfig(dir, {}).with({
    "data.path": join(dir, "data"),
    "http.bind.port": await freePort(),
    "agent.sm_plugins_dir": join(dir, "plugins"),
    "agent.monitor.interval_s": 0,
    ...values,
  });
  let broker: EmbeddedBroker | undefined;
  let mosq: Mosquitto | undefined;
  let bus: Bus;
  let brokerPort: number;
  if (kind === "embedded") {
    broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: 0, log });
    brokerPort = broker.port;
    bus = new LocalBus(broker.core);
  } else {
    mosq = await startMosquitto();
    brokerPort = mosq.port;
    bus = await MqttBus.connect({
      host: "127.0.0.1",
      port: brokerPort,
      clientId: "ledge-test",
      protocolVersion: 5,
      log,
    });
  }
  const client = await mqtt.connectAsync({
    host: "127.0.0.1",
    port: brokerPort,
    clientId: `driver-${Date.now()}`,
  });
  const seen = new Map<string, Buffer>();
  client.on("message", (t, p) => seen.set(t, p));
  await client.subscribeAsync("te/#", { qos: 1 });
  const env: AgentEnv = {
    dir,
    config,
    bus,
    brokerPort,
    client,
    seen,
    async startAgent(overrides, files) {
      env.agent = new AgentComponent({ config, log, bus, clock: Date.now }, overrides, files);
      await env.agent.start();
      return env.agent;
    },
    async stopAgent() {
      await env.agent?.stop();
      env.agent = undefined;
    },
    async command(op, id, payload) {
      await client.publishAsync(`te/device/main///cmd/${op}/${id}`, JSON.stringify(payload), {
        retain: true,
        qos: 1,
      });
    },
    waitStatus(op, id, status, timeoutMs = 10_000) {
      const topic = `te/device/main///cmd/${op}/${id}`;
      return waitFor(
        `${topic} ${status} (last: ${seen.get(topic)})`,
        () => {
          const p = seen.get(topic);
          if (!p?.length) return undefined;
          const j = JSON.parse(p.toString()) as Record<string, unknown>;
          return j.status === status ? j : undefined;
        },
        timeoutMs,
      );
    },
    plugin(name, script) {
      const p = join(dir, "plugins", name);
      writeFileSync(p, `#!/bin/sh\n${script}\n`);
      chmodSync(p, 0o755);
      return p;
    },
    async close() {
      await env.stopAgent();
      await client.endAsync(true);
      if (broker) await broker.stop();
      else await bus.close();
      await mosq?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}
