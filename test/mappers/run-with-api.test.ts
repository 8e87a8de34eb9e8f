import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { type Running, run } from "../../src/app/run.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { freePort, waitFor } from "../helpers/ports.ts";

// `ledge run broker api c8y-mapper` in-process: the api component and the mapper both auto-register
// default-scheme entities; Cumulocity must still see each entity once.
describe("c8y-mapper beside the api component (ledge run)", () => {
  let running: Running;
  let client: MqttClient;
  const seen: { topic: string; payload: string }[] = [];
  before(async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "ledge-mappers-run-"));
    const config = loadConfig(dir, {}).with({
      "device.id": "test-device",
      "mqtt.bind.port": port,
      "mqtt.client.port": port,
      "data.path": join(dir, "data"),
    });
    running = await run(config, ["broker", "api", "c8y-mapper"], createLogger({ level: "error" }));
    assert.deepEqual(running.components, ["broker", "api", "c8y-mapper"]);
    client = await mqtt.connectAsync({ host: "127.0.0.1", port });
    client.on("message", (topic, p) => seen.push({ topic, payload: p.toString() }));
    await client.subscribeAsync(["c8y/#", "te/+/+/+/+"], { qos: 1 });
  });
  after(async () => {
    await client.endAsync(true);
    await running.stop();
  });

  it("a new child seen in data is registered once (101), then its measurement follows", async () => {
    await client.publishAsync("te/device/child9///m/env", '{"t":1.5,"time":"2024-01-01T00:00:00Z"}', {
      qos: 1,
    });
    await waitFor("measurement", () => seen.find((s) => s.topic === "c8y/measurement/measurements/create"));
    await client.publishAsync("te/device/child9///m/env", '{"t":2.5,"time":"2024-01-01T00:00:01Z"}', {
      qos: 1,
    });
    await waitFor("two measurements", () =>
      seen.filter((s) => s.topic === "c8y/measurement/measurements/create").length === 2 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 200)); // let any late duplicate arrive
    const regs = seen.filter((s) => s.payload.startsWith("101,test-device:device:child9,"));
    assert.deepEqual(regs, [
      { topic: "c8y/s/us", payload: "101,test-device:device:child9,child9,thin-edge.io-child,false" },
    ]);
    const teRegs = seen.filter((s) => s.topic === "te/device/child9//").map((s) => s.payload);
    assert.ok(teRegs.length >= 1);
    assert.ok(
      teRegs.every((p) => p === '{"@type":"child-device","@parent":"device/main//","name":"child9"}'),
      teRegs.join(),
    );
  });
});

// thin-edge publishes one te/errors line per bad message; three components each reporting it was a bug.
describe("api, c8y-mapper and mqtt-mapper together (ledge run)", () => {
  let running: Running;
  let client: MqttClient;
  const seen: { topic: string; payload: string }[] = [];
  before(async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "ledge-mappers-errors-"));
    const config = loadConfig(dir, {}).with({
      "device.id": "test-device",
      "mqtt.bind.port": port,
      "mqtt.client.port": port,
      "data.path": join(dir, "data"),
    });
    running = await run(
      config,
      ["broker", "api", "c8y-mapper", "mqtt-mapper"],
      createLogger({ level: "error" }),
    );
    client = await mqtt.connectAsync({ host: "127.0.0.1", port });
    client.on("message", (topic, p) => seen.push({ topic, payload: p.toString() }));
    await client.subscribeAsync(["c8y/#", "ledge/#", "te/errors"], { qos: 1 });
  });
  after(async () => {
    await client.endAsync(true);
    await running.stop();
  });

  it("te/errors is published once for a bad message, not once per component; a mapper's own faults still reach it", async () => {
    const bad = "te/device/main///m/bad";
    await client.publishAsync(bad, '{"a":{"b":{"c":1}}}', { qos: 1 });
    // A fault only Cumulocity has (the api accepts it): the c8y mapper must still report it.
    const reserved = "te/device/main///m/reserved";
    await client.publishAsync(reserved, '{"externalSource":1}', { qos: 1 });
    await client.publishAsync("te/device/main///m/ok", '{"v":1,"time":"2024-01-01T00:00:00Z"}', { qos: 1 });
    // Each component handles messages in order: once both mappers mapped the good one, they are done with the bad ones.
    await waitFor("c8y mapped the good message", () =>
      seen.find((s) => s.topic === "c8y/measurement/measurements/create"),
    );
    await waitFor("mqtt mapper mapped the good message", () =>
      seen.find((s) => s.topic === "ledge/test-device/device/main///m/ok"),
    );
    await waitFor("the api's line", () =>
      seen.find((s) => s.topic === "te/errors" && s.payload.includes(bad)),
    );
    await waitFor("the c8y mapper's own line", () =>
      seen.find((s) => s.topic === "te/errors" && s.payload.includes(reserved)),
    );
    const lines = seen.filter((s) => s.topic === "te/errors" && s.payload.includes(bad));
    assert.equal(lines.length, 1, JSON.stringify(lines));
  });
});
