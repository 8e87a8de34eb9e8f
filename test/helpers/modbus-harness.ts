/**
 * Runs the real `modbus` component against a real embedded broker (aedes, in-process LocalBus) and
 * records everything published under te/, for the Modbus integration tests.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import type { BusMessage } from "../../src/bus/bus.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { ModbusComponent } from "../../src/drivers/modbus/component.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { freePort, waitFor } from "./ports.ts";

export interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

export interface Harness {
  dir: string;
  component: ModbusComponent;
  bus: LocalBus;
  seen: Seen[];
  /** Waits for a message published after `since` (index into seen) that matches. */
  waitFor(what: string, match: (m: Seen) => boolean, timeoutMs?: number, since?: number): Promise<Seen>;
  json(m: Seen): Record<string, unknown>;
  publish(topic: string, payload: string, retain?: boolean): Promise<void>;
  stop(): Promise<void>;
}

const json = (m: Seen) => JSON.parse(m.payload) as Record<string, unknown>;

/** Matches the health status message of child device `device` with `status`. */
export const healthIs =
  (device: string, status: "up" | "down") =>
  (m: Seen): boolean =>
    m.topic === `te/device/${device}///status/health` && json(m).status === status;

/** Matches alarm `type` of child device `device` being raised (a payload) or cleared (empty). */
export const alarmIs =
  (device: string, type: string, raised: boolean) =>
  (m: Seen): boolean =>
    m.topic === `te/device/${device}///a/${type}` && (m.payload !== "") === raised;

/** `retained` messages are on the broker before the component starts (state left by an earlier run). */
export async function startHarness(
  toml: string,
  extraConfig = "",
  retained: { topic: string; payload: string }[] = [],
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "ledge-modbus-"));
  writeFileSync(join(dir, "modbus.toml"), toml);
  // the data dir (flight recorder log) stays inside the test's temp dir
  writeFileSync(
    join(dir, "ledge.toml"),
    `[data]\npath = ${JSON.stringify(join(dir, "data"))}\n${extraConfig}\n`,
  );
  const log = createLogger({ level: process.env.LEDGE_TEST_LOG ? "debug" : "error" });
  const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: await freePort(), log });
  const bus = new LocalBus(broker.core);
  const seen: Seen[] = [];
  const sub = await bus.subscribe("te/#", (m: BusMessage) => {
    seen.push({ topic: m.topic, payload: m.payload.toString("utf8"), retain: m.retain, at: Date.now() });
  });
  for (const r of retained) await bus.publish(r.topic, r.payload, { retain: true, qos: 1 });
  const config = loadConfig(dir, {});
  let component: ModbusComponent;
  try {
    component = new ModbusComponent(
      { config, log: log.child("modbus"), bus, clock: Date.now },
      { statsMinGapMs: 200 },
    );
    await component.start();
  } catch (e) {
    await sub.unsubscribe();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    component,
    bus,
    seen,
    waitFor: (what, match, timeoutMs = 8000, since = 0) =>
      waitFor(what, () => seen.slice(since).find(match), timeoutMs, 10),
    json,
    publish: (topic, payload, retain = true) => bus.publish(topic, payload, { retain, qos: 1 }),
    stop: async () => {
      await component.stop();
      await sub.unsubscribe();
      await bus.close();
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
