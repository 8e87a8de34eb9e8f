/**
 * ledge's broker beside mosquitto in the same run, each in its own process on loopback:
 * pass-through (one mqtt.js publisher, one subscriber) at QoS 0 and 1, RSS per idle connection
 * (1,000 connections, CONNECT each), and the latency of a second publisher/subscriber pair while a
 * subscriber that stopped reading is flooded with 100k messages.
 *
 * ledge runs from the compiled x64 binary (Bun) when dist/ledge-linux-x64 exists, Node with tsx
 * otherwise (`BENCH_RUNTIME=node|bin`). `N=` messages per pass-through run, `RUNS=` runs (median).
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { encode } from "../src/bus/mqtt/index.ts";
import { startMosquitto } from "../test/helpers/mosquitto.ts";
import { type Raw, rawClient } from "../test/helpers/mqtt-raw.ts";
import { canConnect, freePort, waitFor } from "../test/helpers/ports.ts";
import {
  binaryOf,
  cleanEnv,
  type Daemon,
  ROOT,
  startCommand,
  target,
  tempConfigDir,
} from "../test/helpers/targets-bin.ts";
import { client, median, passThrough, type QoS, warmUp } from "./lib/pass-through.ts";
import { type Figure, recordResults, round, table } from "./lib/results.ts";

const N = Number(process.env.N ?? 20_000);
const RUNS = Number(process.env.RUNS ?? 3);
const CONNS = 1000;
const FLOOD = 100_000;
const PAYLOAD = '{"temperature":21.5,"humidity":40.25,"pressure":1013.2,"time":"2024-01-01T00:00:00.000Z"}';
const opts = { payload: PAYLOAD, publish: "burst", idleMs: 5000 };

const rssKiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);

function startLedge(port: number, bin: boolean): Daemon {
  const { dir } = tempConfigDir(port);
  appendFileSync(
    join(dir, "ledge.toml"),
    '[broker]\npersistence = "memory"\nmax_connections = 2000\n[log]\nlevel = "warn"\n',
  );
  const args = ["--config-dir", dir, "broker"];
  if (bin) return startCommand(binaryOf(target("linux-x64")), args, cleanEnv());
  return startCommand(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args],
    cleanEnv(),
  );
}

/** RSS added by `CONNS` idle connections (CONNECT sent, CONNACK received), per connection. */
async function perConnection(port: number, pid: number): Promise<number> {
  await openIdle(port, CONNS / 5, "warm"); // a warm-up round, closed again: allocator and JIT settle
  const before = rssKiB(pid);
  const conns = await openIdle(port, CONNS, "idle");
  await new Promise((r) => setTimeout(r, 1000));
  const after = rssKiB(pid);
  for (const c of conns) c.sock.destroy();
  return ((after - before) * 1024) / CONNS;
}

async function openIdle(port: number, n: number, tag: string, close = tag === "warm"): Promise<Raw[]> {
  const conns: Raw[] = [];
  for (let i = 0; i < n; i++) {
    const c = await rawClient(port);
    c.send({
      type: "connect",
      protocolVersion: 4,
      clientId: `${tag}-${i}-${process.pid}`,
      clean: true,
      keepalive: 0,
    });
    conns.push(c);
  }
  await waitFor(
    "all CONNACKs",
    () => conns.every((c) => c.got.some((p) => p.type === "connack")) || undefined,
    60_000,
  );
  if (close) {
    for (const c of conns) c.sock.destroy();
    await new Promise((r) => setTimeout(r, 500));
  }
  return conns;
}

/** p95 (ms) of a publish → delivery round on a second pair while a stuck subscriber is flooded. */
async function stuckPair(port: number): Promise<number> {
  const stuck = await rawClient(port);
  stuck.send({
    type: "connect",
    protocolVersion: 4,
    clientId: `stuck-${process.pid}`,
    clean: true,
    keepalive: 0,
  });
  stuck.send({
    type: "subscribe",
    packetId: 1,
    subscriptions: [
      { filter: "stuck/#", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ],
  });
  await waitFor("suback", () => stuck.got.find((p) => p.type === "suback"));
  stuck.sock.pause();
  const flood = await rawClient(port);
  flood.send({
    type: "connect",
    protocolVersion: 4,
    clientId: `flood-${process.pid}`,
    clean: true,
    keepalive: 0,
  });
  const sub = await client(port, "pair-sub");
  const pub = await client(port, "pair-pub");
  await sub.subscribeAsync("pair/#", { qos: 1 });
  const arrived = new Map<string, number>();
  sub.on("message", (t) => arrived.set(t, performance.now()));
  const latencies: number[] = [];
  const payload = new Uint8Array(200);
  // each round of the pair right behind a batch of the flood, so every round meets it
  for (let i = 0; i < FLOOD; i += 1000) {
    const batch = Buffer.concat(
      Array.from({ length: 1000 }, (_, k) =>
        encode(
          { type: "publish", topic: `stuck/${(i + k) % 10}`, payload, qos: 0, retain: false, dup: false },
          4,
        ),
      ),
    );
    flood.sock.write(batch);
    const round = i / 1000;
    const t0 = performance.now();
    await pub.publishAsync(`pair/${round}`, "x", { qos: 1 });
    const at = await waitFor("pair", () => arrived.get(`pair/${round}`), 30_000, 1);
    latencies.push(at - t0);
  }
  stuck.sock.destroy();
  flood.sock.destroy();
  await pub.endAsync();
  await sub.endAsync();
  latencies.sort((a, b) => a - b);
  return latencies[Math.floor(latencies.length * 0.95)] as number;
}

const bin = process.env.BENCH_RUNTIME !== "node" && existsSync(binaryOf(target("linux-x64")));
const port = await freePort();
const ledge = startLedge(port, bin);
const mosq = await startMosquitto(["max_connections -1"]);
const result: Record<string, { ledge: number; mosquitto: number }> = {};
try {
  await waitFor("ledge broker", async () => (await canConnect(port)) || undefined, 30_000);
  const lp = ledge.proc.pid as number;
  const mp = mosq.proc.pid as number;
  // first, on fresh processes: later runs leave freed memory that new connections reuse
  result.per_conn = { ledge: await perConnection(port, lp), mosquitto: await perConnection(mosq.port, mp) };
  process.stdout.write(
    `per connection: ledge ${Math.round(result.per_conn.ledge)} B, mosquitto ${Math.round(result.per_conn.mosquitto)} B\n`,
  );
  for (const qos of [0, 1] as QoS[]) {
    await warmUp(() => passThrough(port, lp, "bench/t", "bench/t", qos, 2000, opts));
    await passThrough(mosq.port, mp, "bench/t", "bench/t", qos, 2000, opts);
    const l: number[] = [];
    const m: number[] = [];
    const lc: number[] = [];
    const mc: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const a = await passThrough(port, lp, "bench/t", "bench/t", qos, N, opts);
      const b = await passThrough(mosq.port, mp, "bench/t", "bench/t", qos, N, opts);
      l.push(a.rate);
      m.push(b.rate);
      lc.push(a.cpuUs);
      mc.push(b.cpuUs);
      process.stdout.write(
        `qos${qos} run ${r + 1}: ledge ${Math.round(a.rate)}/s (lost ${a.lost}), mosquitto ${Math.round(b.rate)}/s (lost ${b.lost})\n`,
      );
    }
    result[`rate_qos${qos}`] = { ledge: median(l), mosquitto: median(m) };
    result[`cpu_qos${qos}`] = { ledge: median(lc), mosquitto: median(mc) };
  }
  result.stuck = { ledge: await stuckPair(port), mosquitto: await stuckPair(mosq.port) };
  process.stdout.write(
    `stuck p95: ledge ${round(result.stuck.ledge)} ms, mosquitto ${round(result.stuck.mosquitto)} ms\n`,
  );
} finally {
  await ledge.stop();
  await mosq.stop();
}

const r = (k: string) => result[k] as { ledge: number; mosquitto: number };
const figures: Record<string, Figure> = {
  "broker.msgs_per_s_qos0": { value: r("rate_qos0").ledge, unit: "msg/s" },
  "broker.msgs_per_s_qos1": { value: r("rate_qos1").ledge, unit: "msg/s" },
  "broker.mosquitto_msgs_per_s_qos0": { value: r("rate_qos0").mosquitto, unit: "msg/s" },
  "broker.mosquitto_msgs_per_s_qos1": { value: r("rate_qos1").mosquitto, unit: "msg/s" },
  "broker.ratio_qos0": { value: r("rate_qos0").ledge / r("rate_qos0").mosquitto, unit: "x" },
  "broker.ratio_qos1": { value: r("rate_qos1").ledge / r("rate_qos1").mosquitto, unit: "x" },
  "broker.cpu_us_per_msg_qos0": { value: r("cpu_qos0").ledge, unit: "µs" },
  "broker.cpu_us_per_msg_qos1": { value: r("cpu_qos1").ledge, unit: "µs" },
  "broker.mosquitto_cpu_us_per_msg_qos0": { value: r("cpu_qos0").mosquitto, unit: "µs" },
  "broker.mosquitto_cpu_us_per_msg_qos1": { value: r("cpu_qos1").mosquitto, unit: "µs" },
  "broker.bytes_per_idle_connection": { value: r("per_conn").ledge, unit: "B" },
  "broker.mosquitto_bytes_per_idle_connection": { value: r("per_conn").mosquitto, unit: "B" },
  "broker.stuck_subscriber_pair_p95_ms": { value: r("stuck").ledge, unit: "ms" },
  "broker.mosquitto_stuck_subscriber_pair_p95_ms": { value: r("stuck").mosquitto, unit: "ms" },
};
const md = `## Broker (ledge's own, beside mosquitto)

\`ledge broker\` (${bin ? "x64 binary, Bun" : "Node + tsx"}; persistence off, like the mosquitto beside it) and
mosquitto (\`persistence false\`), each in its own process on loopback, measured in the same run.
Pass-through: one mqtt.js publisher (${N} messages of ${PAYLOAD.length} bytes, burst) and one mqtt.js
subscriber, median of ${RUNS} interleaved runs; CPU = the broker process's user+system time per delivered
message. Per connection: after a warm-up round of ${CONNS / 5} connections (opened and closed), RSS added by
${CONNS} idle connections (CONNECT, CONNACK, 1 s settle) over the broker's RSS before, divided by ${CONNS}; measured first, on fresh processes. Stuck subscriber: a subscriber stops reading while
${FLOOD / 1000}k QoS 0 messages of 200 bytes are published to it; after each batch of 1,000 of them a second pair
does one QoS 1 publish → delivery round (100 rounds); p95 of those round trips.

${table(
  ["figure", "ledge", "mosquitto", "ratio"],
  [
    [
      "pass-through QoS 0 (msg/s)",
      Math.round(r("rate_qos0").ledge),
      Math.round(r("rate_qos0").mosquitto),
      `**${round(r("rate_qos0").ledge / r("rate_qos0").mosquitto)}×**`,
    ],
    [
      "pass-through QoS 1 (msg/s)",
      Math.round(r("rate_qos1").ledge),
      Math.round(r("rate_qos1").mosquitto),
      `**${round(r("rate_qos1").ledge / r("rate_qos1").mosquitto)}×**`,
    ],
    [
      "broker CPU per message QoS 0 (µs)",
      round(r("cpu_qos0").ledge),
      round(r("cpu_qos0").mosquitto),
      round(r("cpu_qos0").ledge / r("cpu_qos0").mosquitto),
    ],
    [
      "broker CPU per message QoS 1 (µs)",
      round(r("cpu_qos1").ledge),
      round(r("cpu_qos1").mosquitto),
      round(r("cpu_qos1").ledge / r("cpu_qos1").mosquitto),
    ],
    [
      "RSS per idle connection (bytes)",
      Math.round(r("per_conn").ledge),
      Math.round(r("per_conn").mosquitto),
      round(r("per_conn").ledge / r("per_conn").mosquitto),
    ],
    [
      "second pair p95 beside a stuck subscriber (ms)",
      round(r("stuck").ledge),
      round(r("stuck").mosquitto),
      round(r("stuck").ledge / r("stuck").mosquitto),
    ],
  ],
)}

Targets (issue 10): pass-through ≥ 1.0× mosquitto at QoS 0 and 1; ≤ 4 KiB per idle connection; the
second pair's p95 under 1 s.`;
recordResults("broker", figures, md);
process.stdout.write(`${md}\n`);
