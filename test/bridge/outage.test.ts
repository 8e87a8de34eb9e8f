import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MqttClient } from "mqtt";
import { recordSize } from "../../src/bridge/queue/types.ts";
import { type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";
import { freePort } from "../helpers/ports.ts";
import { clientCert, cloudBrokerConfig, createPki, type Pki } from "../helpers/tls-pki.ts";
import {
  c8yBridge,
  client,
  closeClients,
  gate,
  type Ledge,
  rm,
  startLedge,
  tempDir,
  toml,
  waitFor,
} from "./harness.ts";

const DEVICE = "outage-device";
const TOPIC = "c8y/measurement/measurements/create";
const REMOTE = "measurement/measurements/create";
const payload = (i: number) => `{"seq":"${String(i).padStart(6, "0")}","temp":{"temp":{"value":21.5}}}`;
const seqOf = (p: string) => Number(JSON.parse(p).seq);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes numbered measurements at `rate`/s, QoS 1; remembers which ones the broker acknowledged. */
function publishAtRate(c: MqttClient, rate: number) {
  const acked: number[] = [];
  let sent = 0;
  const start = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - start) * rate) / 1000);
    for (; sent < due; sent++) {
      const i = sent;
      c.publishAsync(TOPIC, payload(i), { qos: 1 }).then(
        () => acked.push(i),
        () => {},
      );
    }
  }, 10);
  return {
    acked,
    sent: () => sent,
    stop: () => clearInterval(timer),
  };
}

/**
 * What the cloud received must be every message, in order. At-least-once: a replay after a crash
 * or lost connection may repeat a stretch, so each value may be at most one past the highest so far.
 */
function checkOrderAndCompleteness(got: number[], expected: number[]) {
  let max = -1;
  for (const [k, v] of got.entries()) {
    assert.ok(v <= max + 1, `gap: ${v} after max ${max} at position ${k}`);
    max = Math.max(max, v);
  }
  const have = new Set(got);
  const missing = expected.filter((i) => !have.has(i));
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} messages lost`);
  return got.length - have.size;
}

describe("bridge outages: nothing lost, order kept", () => {
  let pki: Pki;
  let cloud: Mosquitto;
  let tlsPort: number;
  let observer: MqttClient;
  let device: { cert: string; key: string };
  const got: number[] = [];
  const dirs: string[] = [];
  const running: Ledge[] = [];
  const children: ChildProcess[] = [];

  /** At-least-once: replays of the previous test may still be arriving; start from a quiet cloud. */
  const quiet = async () => {
    let seen = -1;
    await waitFor(
      "the cloud side to go quiet",
      async () => {
        const still = got.length === seen;
        seen = got.length;
        await sleep(500);
        return still || undefined;
      },
      15_000,
    );
    got.length = 0;
  };

  const settings = (extra: Record<string, string | number | boolean> = {}) => ({
    ...c8yBridge(DEVICE, device, pki.caCert, tlsPort),
    "bridge.backoff_min_ms": 200,
    "bridge.backoff_max_ms": 1000,
    ...extra,
  });

  before(async () => {
    pki = createPki();
    device = clientCert(pki, DEVICE);
    const cfg = await cloudBrokerConfig(pki, [pki.caCert]);
    tlsPort = cfg.tlsPort;
    // A persistent session for the observer: what arrives while it reconnects is kept for it.
    const persist = mkdtempSync(join(tmpdir(), "ledge-mosq-db-"));
    chmodSync(persist, 0o777);
    dirs.push(persist);
    cloud = await startMosquitto(
      [...cfg.lines, "persistence true", `persistence_location ${persist}/`],
      tlsPort,
    );
    observer = await client(cfg.plainPort, { clientId: "cloud-observer", clean: false, reconnectPeriod: 50 });
    observer.on("message", (topic, p) => {
      if (topic === REMOTE) got.push(seqOf(p.toString()));
    });
    await observer.subscribeAsync(REMOTE, { qos: 1 });
  });
  after(async () => {
    await closeClients();
    for (const c of children) c.kill("SIGKILL");
    for (const l of running) await l.stop().catch(() => {});
    await observer?.endAsync(true);
    await cloud?.stop();
    pki?.cleanup();
    for (const d of dirs) rm(d);
  });

  it("cloud down for 30 s while 100 measurements/s are published on: all arrive in order, drained within 60 s of the end of publishing (default drain_rate)", async () => {
    got.length = 0;
    const d = tempDir();
    dirs.push(d);
    const l = await startLedge(settings(), d);
    running.push(l);
    await waitFor("link up", () => l.logs.some((x) => x.includes("connected")));
    const pub = await client(l.port);
    const load = publishAtRate(pub, 100);
    await sleep(2000);
    await cloud.stop();
    const atDown = load.sent();
    await sleep(30_000);
    const atUp = load.sent();
    await cloud.restart();
    await sleep(2000);
    load.stop();
    const total = load.sent();
    const stopped = Date.now();
    await waitFor("every publish acknowledged locally", () => load.acked.length === total, 5000);
    await waitFor(`all ${total} at the cloud`, () => new Set(got).size >= total, 60_000);
    const drainMs = Date.now() - stopped;
    const dups = checkOrderAndCompleteness(got, [...Array(total).keys()]);
    // whatever this machine's publish rate, messages were acknowledged while the cloud was down
    assert.ok(atUp > atDown, `published ${atUp - atDown} during the outage`);
    assert.ok(drainMs < 60_000, `drained ${drainMs} ms after publishing stopped`);
    assert.ok(l.logs.some((x) => x.includes("connection lost")));
    process.stderr.write(
      `# 30 s outage: ${total} published, ${got.length} received, ${dups} duplicates, drained ${drainMs} ms after publishing stopped\n`,
    );
    await pub.endAsync();
    await l.stop();
    running.pop();
  });

  it("kill -9 of ledge during an outage, then restart: every acknowledged measurement arrives, in order", async () => {
    await quiet();
    const d = tempDir();
    dirs.push(d);
    const port = await freePort();
    writeFileSync(
      join(d, "ledge.toml"),
      toml({
        ...settings(),
        "data.path": join(d, "data"),
        "mqtt.bind.port": port,
        "log.level": "info",
      }),
    );
    const spawnLedge = () => {
      const c = spawn(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "--config-dir", d, "run", "broker", "bridge"],
        { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LEDGE_CONFIG_DIR: d } },
      );
      let err = "";
      c.stderr?.on("data", (x) => {
        err += x;
      });
      children.push(c);
      return { proc: c, log: () => err };
    };
    await cloud.stop();
    let ledge = spawnLedge();
    await waitFor("ledge up", () => ledge.log().includes("ledge running") || undefined, 20_000);
    // The publisher keeps publishing while ledge is down (mqtt.js stores QoS 1 messages and resends
    // the unacknowledged ones) and gets back in once the new process is up: reconnecting earlier
    // races the start-up, where the embedded broker listens before the bridge has subscribed.
    const relay = await gate(port);
    const pub = await client(relay.port, { reconnectPeriod: 100 });
    pub.on("error", () => {});
    const load = publishAtRate(pub, 100);
    await sleep(1500);
    const exited = new Promise((r) => ledge.proc.once("exit", r));
    relay.open = false;
    ledge.proc.kill("SIGKILL");
    await exited;
    const ackedBeforeKill = load.acked.length;
    ledge = spawnLedge();
    await waitFor("ledge up again", () => ledge.log().includes("ledge running") || undefined, 20_000);
    relay.open = true;
    await sleep(1500);
    load.stop();
    const total = load.sent();
    await waitFor("every publish acknowledged locally", () => load.acked.length === total, 10_000);
    await cloud.restart();
    await waitFor(`all ${total} at the cloud`, () => new Set(got).size >= total, 20_000).catch((e) => {
      const have = new Set(got);
      const missing = [...Array(total).keys()].filter((i) => !have.has(i));
      process.stderr.write(`${ledge.log()}\nreceived ${have.size}, missing ${missing.slice(0, 50)}\n`);
      throw e;
    });
    const dups = checkOrderAndCompleteness(got, [...Array(total).keys()]);
    assert.ok(ackedBeforeKill >= 100, `acked before kill: ${ackedBeforeKill}`);
    process.stderr.write(
      `# kill -9: ${total} published (${ackedBeforeKill} acknowledged before the kill), ${got.length} received, ${dups} duplicates\n`,
    );
    await pub.endAsync(true);
    await relay.close();
    const stopped = new Promise((r) => ledge.proc.once("exit", r));
    ledge.proc.kill("SIGTERM");
    await stopped;
  });

  it("a full queue drops the oldest and reports how many", async () => {
    await quiet();
    await cloud.stop();
    const size = recordSize(REMOTE, Buffer.from(payload(0)));
    const d = tempDir();
    dirs.push(d);
    const l = await startLedge(
      settings({ "bridge.queue.max_bytes": 20 * size, "bridge.metrics_interval_s": 1 }),
      d,
    );
    running.push(l);
    const pub = await client(l.port);
    const metrics: { drops: number; queue_depth: number }[] = [];
    pub.on("message", (_t, p) => metrics.push(JSON.parse(p.toString()).c8y));
    await pub.subscribeAsync("te/device/main/service/ledge-bridge/m/bridge", { qos: 0 });
    for (let i = 0; i < 50; i++) await pub.publishAsync(TOPIC, payload(i), { qos: 1 });
    const m = await waitFor("drops reported", () => metrics.find((x) => x.drops === 30), 5000);
    assert.equal(m.queue_depth, 20);
    await cloud.restart();
    await waitFor("the 20 newest at the cloud", () => (got.length >= 20 ? true : undefined), 10_000);
    await sleep(200);
    assert.deepEqual(
      got,
      [...Array(20).keys()].map((k) => k + 30),
    );
    await pub.endAsync();
    await l.stop();
    running.pop();
  });
});
