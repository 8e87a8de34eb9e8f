/**
 * The flows of the mappers in `ledge run`, observed by an MQTT client on the broker's port:
 * thin-edge's c8y builtin flows with registration data kept in the c8y mapper's context (a
 * registration message releases what `cache-early-messages` held), and flow statistics on
 * `te/device/main/service/tedge-mapper-<mapper>/status/metrics/<flow or step>` at a short
 * `flows.stats.interval` (TEDGE-FACTS §10.5, thin-edge's `stats.rs` payload).
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { type Running, run } from "../../src/app/run.ts";
import { keyDef } from "../../src/config/schema.ts";
import { loadConfig } from "../../src/config/store.ts";
import { rustDuration } from "../../src/flows/stats.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { tempConfig } from "../helpers/cli.ts";
import { C8Y_BUILTIN_FLOWS, SENSOR_REMAP, writeFlows } from "../helpers/flows.ts";
import { waitFor } from "../helpers/ports.ts";

const log = createLogger({ level: "error" });
const METRICS = "te/device/main/service/tedge-mapper-";

describe("rustDuration: Rust's Debug of a Duration, as thin-edge's cpu-min/cpu-max", () => {
  const rows: [number, string][] = [
    [0, "0ns"],
    [850, "850ns"],
    [1000, "1µs"],
    [12_500, "12.5µs"],
    [1_500_000, "1.5ms"],
    [1_000_001, "1.000001ms"],
    [2e9, "2s"],
    [2_250_000_000, "2.25s"],
  ];
  for (const [ns, text] of rows) it(`${ns} ns → ${text}`, () => assert.equal(rustDuration(ns), text));
});

it("flows.stats.interval takes thin-edge's durations and refuses others", () => {
  const check = keyDef("flows.stats.interval").check as (v: unknown) => string | undefined;
  for (const ok of ["1h", "30s", "500ms", "3600", "5m"]) assert.equal(check(ok), undefined, ok);
  for (const bad of ["", "hourly", "1 hour", "-1s"])
    assert.match(check(bad) ?? "", /must be a duration/, bad);
});

describe("mapper flows in ledge run (broker + flows, an MQTT client watching)", () => {
  let running: Running;
  let dir: string;
  let client: mqtt.MqttClient;
  const seen: { topic: string; payload: string }[] = [];
  const on = (topic: string) => seen.filter((m) => m.topic === topic).map((m) => m.payload);

  before(async () => {
    let port: number;
    ({ dir, port } = await tempConfig({
      "flows.stats.interval": "1s",
      "flows.stats.on_message": true,
      "flows.reload_interval_ms": 100,
    }));
    writeFlows(join(dir, "mappers", "c8y", "flows"), C8Y_BUILTIN_FLOWS);
    writeFlows(join(dir, "mappers", "local", "flows"), SENSOR_REMAP);
    running = await run(loadConfig(dir), ["broker", "flows"], log);
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "watch" });
    client.on("message", (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await client.subscribeAsync(["c8y/#", "te/device/main/service/+/status/metrics/+"], { qos: 1 });
    await waitFor("flows loaded", () => (running.components.includes("flows") ? true : undefined));
  });
  after(async () => {
    await client?.endAsync();
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("c8y builtin flows: main device data maps at once; an unregistered entity's waits for its registration", async () => {
    await client.publishAsync("te/device/main///m/env", '{"t":1}', { qos: 1 });
    const main = await waitFor("main measurement", () => on("c8y/measurement/measurements/create")[0]);
    assert.match(main, /^\{"t":\{"t":\{"value":1\.0\}\},"time":"[^"]+","type":"env"\}$/);
    await client.publishAsync("te/factory/press1///m/p", '{"bar":3}', { qos: 1 });
    await client.publishAsync("te/factory/press1///e/stroke", '{"text":"down"}', { qos: 1 });
    // A marker behind them on the same connection: once it is mapped, the press's data was seen and held.
    await client.publishAsync("te/device/main///m/marker", '{"m":1}', { qos: 1 });
    await waitFor("marker", () => on("c8y/measurement/measurements/create").find((p) => p.includes('"m"')));
    assert.equal(seen.filter((m) => m.payload.includes("press-1")).length, 0, "held while unregistered");
    await client.publishAsync("te/factory/press1//", '{"@type":"child-device","@id":"press-1"}', {
      qos: 1,
      retain: true,
    });
    const released = await waitFor("released", () => {
      const r = seen.filter((m) => m.payload.includes("press-1"));
      return r.length === 2 ? r : undefined;
    });
    assert.deepEqual(released.map((m) => m.topic).sort(), [
      "c8y/event/events/create",
      "c8y/measurement/measurements/create",
    ]);
    assert.match(
      released.find((m) => m.topic.startsWith("c8y/measurement"))?.payload ?? "",
      /"externalSource":\{"externalId":"press-1","type":"c8y_Serial"\},"bar":\{"bar":\{"value":3\.0\}\}/,
    );
    await client.publishAsync("te/factory/press1//", "", { qos: 1, retain: true });
  });

  it("statistics per mapper: runtime, each flow, each step's onMessage; thin-edge's field names", async () => {
    await client.publishAsync("sensors/factory/zone1", '{"temp": 22.4}', { qos: 1 });
    await client.publishAsync("sensors/factory/zone1", '{"temp": "bad"}', { qos: 1 });
    const record = (mapper: string, name: string, test: (p: Record<string, unknown>) => boolean) =>
      waitFor(`${mapper} ${name}`, () => {
        const last = on(`${METRICS}${mapper}/status/metrics/${name}`).at(-1);
        const p = last === undefined ? undefined : (JSON.parse(last) as Record<string, unknown>);
        return p && test(p) ? p : undefined;
      });
    const remap = await record("local", "sensor-remap", (p) => p.input === 2);
    assert.deepEqual(Object.keys(remap).sort(), ["cpu-max", "cpu-min", "error", "input", "output", "type"]);
    assert.equal(remap.type, "flow");
    assert.equal(remap.output, 1, "the bad reading gave nothing");
    assert.match(String(remap["cpu-min"]), /^\d+(\.\d+)?(ns|µs|ms|s)$/);
    const step = await record("local", "main.js", (p) => p.input === 2);
    assert.equal(step.type, "onMessage");
    const runtime = await record("local", "runtime", (p) => p.input === 2);
    assert.equal(runtime.type, "runtime");
    // the c8y mapper's own records: its flows and builtin steps
    const measurements = await record("c8y", "measurements", (p) => Number(p.input) >= 2);
    assert.equal(measurements.type, "flow");
    const into = await record("c8y", "into-c8y-measurements", (p) => Number(p.input) >= 2);
    assert.equal(into.type, "onMessage");
  });
});
