import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { ledgeSpawn, tempConfig } from "../helpers/cli.ts";
import { canConnect, freePort, waitFor } from "../helpers/ports.ts";

const log = createLogger({ level: "error" });

async function client(
  port: number,
  clientId: string,
  clean: boolean,
  version: 4 | 5 = 4,
): Promise<MqttClient> {
  const c = mqtt.connect({
    host: "127.0.0.1",
    port,
    clientId,
    clean,
    protocolVersion: version,
    reconnectPeriod: 0,
    ...(version === 5 && !clean && { properties: { sessionExpiryInterval: 3600 } }),
  });
  await new Promise<void>((resolve, reject) => {
    c.once("connect", () => resolve());
    c.once("error", reject);
  });
  return c;
}

/** What a persistent subscriber and a new one get after the broker came back. */
async function checkState(port: number, expectQueued: string[]) {
  const got: string[] = [];
  const sub = mqtt.connect({ host: "127.0.0.1", port, clientId: "keeper", clean: false, reconnectPeriod: 0 });
  sub.on("message", (_t, p) => got.push(p.toString()));
  const present = await new Promise<boolean>((resolve, reject) => {
    sub.once("connect", (ack) => resolve(ack.sessionPresent));
    sub.once("error", reject);
  });
  assert.equal(present, true, "session present after the restart");
  await waitFor("queued messages", () => got.length >= expectQueued.length || undefined);
  assert.deepEqual(got, expectQueued);
  const fresh = await client(port, "fresh", true);
  const retained: string[] = [];
  fresh.on("message", (t, p, packet) => packet.retain && retained.push(`${t}=${p}`));
  await fresh.subscribeAsync("te/+/+//", { qos: 1 });
  await waitFor("retained", () => retained.length >= 1 || undefined);
  assert.deepEqual(retained, ['te/device/main//={"@type":"device"}']);
  await sub.endAsync();
  await fresh.endAsync();
}

async function prepare(port: number) {
  const keeper = await client(port, "keeper", false);
  await keeper.subscribeAsync("q/#", { qos: 1 });
  await keeper.endAsync();
  const pub = await client(port, "pub", true);
  await pub.publishAsync("te/device/main//", '{"@type":"device"}', { qos: 1, retain: true });
  await pub.publishAsync("te/device/gone//", "x", { qos: 1, retain: true });
  await pub.publishAsync("te/device/gone//", "", { qos: 1, retain: true }); // cleared again
  for (let i = 0; i < 5; i++) await pub.publishAsync(`q/${i}`, `m${i}`, { qos: 1 });
  await pub.endAsync();
}

describe("broker persistence: retained messages and persistent sessions survive", () => {
  it("a restart of the embedded broker (same data dir)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-broker-"));
    const port = await freePort();
    const opts = {
      host: "127.0.0.1",
      port,
      log,
      persistence: { dir, fsync: "interval" as const, fsyncIntervalMs: 100 },
    };
    let broker = await EmbeddedBroker.start(opts);
    await prepare(port);
    await broker.stop();
    broker = await EmbeddedBroker.start(opts);
    try {
      await checkState(port, ["m0", "m1", "m2", "m3", "m4"]);
    } finally {
      await broker.stop();
    }
  });

  it("positive control: without persistence the same restart loses them", async () => {
    const port = await freePort();
    let broker = await EmbeddedBroker.start({ host: "127.0.0.1", port, log });
    await prepare(port);
    await broker.stop();
    broker = await EmbeddedBroker.start({ host: "127.0.0.1", port, log });
    const c = mqtt.connect({ host: "127.0.0.1", port, clientId: "keeper", clean: false, reconnectPeriod: 0 });
    const present = await new Promise<boolean>((resolve) =>
      c.once("connect", (ack) => resolve(ack.sessionPresent)),
    );
    assert.equal(present, false);
    await c.endAsync();
    await broker.stop();
  });

  it("kill -9 of `ledge broker` (fsync interval: written to the OS before the ack)", async () => {
    const { dir, port } = await tempConfig();
    const start = async () => {
      const p = ledgeSpawn(["--config-dir", dir, "broker"]);
      await waitFor("broker listening", async () => (await canConnect(port)) || undefined, 30_000);
      return p;
    };
    const kill9 = (p: ChildProcess) =>
      new Promise<void>((resolve) => {
        p.once("exit", () => resolve());
        p.kill("SIGKILL");
      });
    let p = await start();
    try {
      await prepare(port);
      await kill9(p);
      p = await start();
      await checkState(port, ["m0", "m1", "m2", "m3", "m4"]);
      // and again, after what the first run's replay compacted
      await kill9(p);
      p = await start();
      await checkState(port, []);
    } finally {
      await kill9(p);
    }
  });
});
