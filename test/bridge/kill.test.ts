/**
 * kill -9 loops on the public CLI (`ledge run ...`), single-process (broker and bridge together) and
 * split (broker and bridge in two processes): numbered QoS 1 messages published all along, the
 * bridge killed 5 times at random moments; at the end, delivered + counted-dropped = acknowledged.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MqttClient } from "mqtt";
import { freePort } from "../helpers/ports.ts";
import { type Cloud, cloudSettings, plainCloud, TOPIC } from "./fault-kit.ts";
import { client, closeClients, gate, rm, tempDir, toml, waitFor } from "./harness.ts";

const KILLS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const allLogs: (() => string)[] = [];

function spawnLedge(dir: string, ...components: string[]) {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "--config-dir", dir, "run", ...components],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LEDGE_CONFIG_DIR: dir } },
  );
  let log = "";
  proc.stderr?.on("data", (x) => {
    log += x;
  });
  allLogs.push(() => log);
  return { proc, log: () => log };
}

async function kill9(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGKILL");
  await exited;
}

async function sigterm(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await exited;
}

/**
 * Publishes numbered messages at `rate`/s; an acknowledged one is one the local broker took. After
 * each reconnect every message still unacknowledged is published again (at-least-once from the
 * publisher's side too: mqtt.js's own resend misses messages caught in the broker's death).
 */
function publishAtRate(c: MqttClient, rate: number) {
  const acked = new Set<number>();
  const pending = new Set<number>();
  let sent = 0;
  const send = (k: number) =>
    c.publish(TOPIC, String(k), { qos: 1 }, (err) => {
      if (err || acked.has(k)) return;
      acked.add(k);
      pending.delete(k);
    });
  c.on("connect", () => {
    for (const k of pending) send(k);
  });
  const t0 = Date.now();
  const timer = setInterval(() => {
    for (const due = Math.floor(((Date.now() - t0) * rate) / 1000); sent < due; sent++) {
      pending.add(sent);
      send(sent);
    }
  }, 10);
  return { acked, sent: () => sent, stop: () => clearInterval(timer) };
}

describe("bridge kill -9 loops (public CLI)", () => {
  let cloud: Cloud;
  const dirs: string[] = [];
  const procs: ChildProcess[] = [];
  before(async () => {
    cloud = await plainCloud();
  });
  after(async () => {
    await closeClients();
    for (const p of procs) await kill9(p);
    await cloud?.stop();
    for (const d of dirs) rm(d);
  });

  const setup = async () => {
    cloud.got.clear();
    const dir = tempDir();
    dirs.push(dir);
    const port = await freePort();
    writeFileSync(
      join(dir, "ledge.toml"),
      toml({
        ...cloudSettings(cloud.broker.port),
        "data.path": join(dir, "data"),
        "mqtt.bind.port": port,
        "mqtt.client.port": port,
        "log.level": "info",
      }),
    );
    return { dir, port };
  };

  /** The final count: the bridge's metrics (drops persist across restarts) against what arrived. */
  const account = async (port: number, acked: Set<number>, total: number, log = () => "") => {
    const watcher = await client(port);
    let drops: number | undefined;
    watcher.on("message", (_t, p) => {
      drops = JSON.parse(p.toString()).mqtt?.drops;
    });
    await watcher.subscribeAsync("te/device/main/service/ledge-bridge/m/bridge", { qos: 0 });
    await waitFor(
      `all ${total} accounted for`,
      () => (drops !== undefined && cloud.got.size + drops === total ? true : undefined),
      30_000,
    ).catch((e) => {
      const missing = [...acked].filter((k) => !cloud.got.has(k));
      process.stderr.write(
        `delivered ${cloud.got.size}, drops ${drops}, ${missing.length} missing: ${missing.slice(0, 30)}\n${log()}\n`,
      );
      throw e;
    });
    assert.equal(acked.size, total);
    assert.equal(drops, 0);
    assert.deepEqual(
      [...acked].filter((k) => !cloud.got.has(k)),
      [],
    );
  };

  it(`single process (ledge run broker bridge): ${KILLS} kills, delivered + dropped = acknowledged`, {
    // Found by this test: aedes writes the PUBACK of a QoS 1 message before it hands the message to
    // subscribers (aedes lib/handlers/publish.js), so a kill between the two loses a message its
    // publisher saw acknowledged (1-3 per run of 5 kills). Passes once the embedded broker delivers
    // before it acknowledges (the broker being replaced in the bus-net branch).
    todo: "aedes acknowledges QoS 1 before delivery",
  }, async () => {
    const { dir, port } = await setup();
    const relay = await gate(port);
    relay.open = false;
    let ledge = spawnLedge(dir, "broker", "bridge");
    procs.push(ledge.proc);
    await waitFor("ledge up", () => ledge.log().includes("ledge running") || undefined, 20_000);
    relay.open = true;
    const pub = await client(relay.port, { reconnectPeriod: 100 });
    pub.on("error", () => {});
    const load = publishAtRate(pub, 200);
    for (let k = 0; k < KILLS; k++) {
      await sleep(500 + Math.random() * 1000);
      // The publisher gets back in only once the next process is up (the broker listens before the
      // bridge subscribed): until then it keeps its unacknowledged messages and resends them.
      relay.open = false;
      await kill9(ledge.proc);
      ledge = spawnLedge(dir, "broker", "bridge");
      procs.push(ledge.proc);
      await waitFor("ledge up again", () => ledge.log().includes("ledge running") || undefined, 20_000);
      relay.open = true;
    }
    await sleep(1000);
    load.stop();
    const total = load.sent();
    await waitFor("every publish acknowledged", () => (load.acked.size === total ? true : undefined), 20_000);
    await account(port, load.acked, total, () => allLogs.map((l) => l()).join("----\n"));
    await pub.endAsync(true);
    await relay.close();
    await sigterm(ledge.proc);
  });

  it(`split processes (ledge run broker + ledge run bridge): ${KILLS} kills of the bridge, delivered + dropped = acknowledged`, {
    // The bridge's bus connection is a clean session (src/bus/mqtt-bus.ts), so what is published
    // while the bridge process is down is acknowledged by the broker and never reaches the queue.
    todo: "the bus client's clean session loses messages while the bridge process is down",
  }, async () => {
    const { dir, port } = await setup();
    const broker = spawnLedge(dir, "broker");
    procs.push(broker.proc);
    await waitFor("broker up", () => broker.log().includes("ledge running") || undefined, 20_000);
    let bridge = spawnLedge(dir, "bridge");
    procs.push(bridge.proc);
    await waitFor("bridge up", () => bridge.log().includes("ledge running") || undefined, 20_000);
    const pub = await client(port, { reconnectPeriod: 100 });
    const load = publishAtRate(pub, 200);
    for (let k = 0; k < KILLS; k++) {
      await sleep(500 + Math.random() * 1000);
      await kill9(bridge.proc);
      bridge = spawnLedge(dir, "bridge");
      procs.push(bridge.proc);
      await waitFor("bridge up again", () => bridge.log().includes("ledge running") || undefined, 20_000);
    }
    await sleep(1000);
    load.stop();
    const total = load.sent();
    await waitFor("every publish acknowledged", () => (load.acked.size === total ? true : undefined), 20_000);
    await account(port, load.acked, total);
    await pub.endAsync(true);
    await sigterm(bridge.proc);
    await sigterm(broker.proc);
  });
});
