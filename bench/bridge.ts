/**
 * Bridge benchmark: the disk queue alone (append and drain per fsync policy), then the whole uplink
 * (mqtt.js publisher → embedded broker → bridge → queue → TLS → mosquitto → subscriber), live and
 * as a backlog drained after the cloud comes back. Figures: `bridge.*` in bench/results.json.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskQueue, type FsyncPolicy } from "../src/bridge/queue/disk-queue.ts";
import { c8yBridge, client, closeClients, startLedge } from "../test/bridge/harness.ts";
import { startMosquitto } from "../test/helpers/mosquitto.ts";
import { clientCert, cloudBrokerConfig, createPki } from "../test/helpers/tls-pki.ts";
import { type Figure, recordResults, table } from "./lib/results.ts";

const PAYLOAD = Buffer.from(
  '{"temp":{"temp":{"value":21.5}},"time":"2024-01-01T00:00:00.000Z","type":"ThinEdgeMeasurement"}',
);
const TOPIC = "measurement/measurements/create";

function queueBench(fsync: FsyncPolicy, n: number) {
  const dir = mkdtempSync(join(tmpdir(), "ledge-bench-q-"));
  const q = DiskQueue.open({ dir, maxBytes: 256 << 20, fsync, fsyncIntervalMs: 100 });
  let t = performance.now();
  for (let i = 0; i < n; i++) q.append({ topic: TOPIC, payload: PAYLOAD, qos: 1, retain: false });
  const append = n / ((performance.now() - t) / 1000);
  t = performance.now();
  let last = -1;
  for (let e = q.next(); e; e = q.next()) {
    last = e.seq;
    if (e.seq % 100 === 99) q.commit(e.seq);
  }
  q.commit(last);
  const drain = n / ((performance.now() - t) / 1000);
  q.close();
  rmSync(dir, { recursive: true, force: true });
  return { append, drain };
}

async function endToEnd(n: number) {
  const pki = createPki();
  const device = clientCert(pki, "bench-device");
  const cfg = await cloudBrokerConfig(pki, [pki.caCert]);
  const cloud = await startMosquitto(cfg.lines, cfg.tlsPort);
  const observer = await client(cfg.plainPort);
  let got = 0;
  let done: () => void = () => {};
  observer.on("message", () => {
    if (++got === n) done();
  });
  await observer.subscribeAsync(TOPIC, { qos: 1 });
  const dir = mkdtempSync(join(tmpdir(), "ledge-bench-b-"));
  const l = await startLedge(
    {
      ...c8yBridge("bench-device", device, pki.caCert, cfg.tlsPort),
      "bridge.drain_rate": 0,
      "bridge.backoff_min_ms": 50,
      "bridge.backoff_max_ms": 100,
    },
    dir,
  );
  const pub = await client(l.port);
  const publishAll = async () => {
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) pending.push(pub.publishAsync(`c8y/${TOPIC}`, PAYLOAD, { qos: 1 }));
    await Promise.all(pending);
  };
  // Live: the cloud is up, everything flows through.
  let finished = new Promise<void>((r) => {
    done = r;
  });
  let t = performance.now();
  await publishAll();
  await finished;
  const live = n / ((performance.now() - t) / 1000);
  // Backlog: the cloud is down while n messages are queued, then drained at full speed.
  got = 0;
  await cloud.stop();
  await publishAll();
  finished = new Promise<void>((r) => {
    done = r;
  });
  await cloud.restart();
  t = performance.now();
  await finished;
  const backlog = n / ((performance.now() - t) / 1000);
  await closeClients();
  await l.stop();
  await cloud.stop();
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
  return { live, backlog };
}

const N = 100_000;
const interval = queueBench("interval", N);
const never = queueBench("never", N);
const always = queueBench("always", 2000);
const e2e = await endToEnd(20_000);

const figures: Record<string, Figure> = {
  "bridge.queue_append_per_s_interval": { value: interval.append, unit: "msg/s" },
  "bridge.queue_append_per_s_never": { value: never.append, unit: "msg/s" },
  "bridge.queue_append_per_s_always": { value: always.append, unit: "msg/s" },
  "bridge.queue_drain_per_s": { value: interval.drain, unit: "msg/s" },
  "bridge.uplink_msgs_per_s_live": { value: e2e.live, unit: "msg/s" },
  "bridge.uplink_msgs_per_s_backlog": { value: e2e.backlog, unit: "msg/s" },
};
const f = (v: number) => Math.round(v).toLocaleString("en");
recordResults(
  "bridge",
  figures,
  `## Bridge: disk queue and uplink

Disk queue (${PAYLOAD.length}-byte payloads, topic \`${TOPIC}\`, in \`${tmpdir()}\`), one record at a time:

${table(
  ["fsync policy", "append msg/s", "drain (next + commit) msg/s"],
  [
    ["interval (default, 100 ms)", f(interval.append), f(interval.drain)],
    ["never", f(never.append), f(never.drain)],
    ["always (fdatasync per record)", f(always.append), f(always.drain)],
  ],
)}

Whole uplink, 20,000 QoS 1 messages: mqtt.js publisher → embedded broker → bridge → disk queue →
mutual TLS → mosquitto → subscriber, \`bridge.drain_rate = 0\` (no limit), \`bridge.inflight = 100\`:

${table(
  ["case", "msg/s"],
  [
    ["live (cloud up)", f(e2e.live)],
    ["backlog drained after the cloud returns", f(e2e.backlog)],
  ],
)}

The default \`bridge.drain_rate\` (200 msg/s per cloud) is far below these: it protects the cloud,
not ledge.`,
);
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
