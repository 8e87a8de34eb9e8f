/**
 * te → c8y translation throughput through the whole process on loopback: `ledge run broker
 * c8y-mapper` (the mapper on the embedded broker's in-process fast path) with one mqtt.js publisher
 * of measurements on te/ and one subscriber on `c8y/measurement/measurements/create`, beside
 * mosquitto's own pass-through (max_queued_messages 0; one publisher, one subscriber, same message
 * count and size) in the same run, at QoS 0 and QoS 1.
 *
 * Runs ledge from the compiled x64 binary (Bun) when dist/ledge-linux-x64 exists and Node with tsx
 * otherwise; `BENCH_RUNTIME=node|bin|both` picks. `N=` messages per run, `RUNS=` runs (median).
 * `PROFILE=1` writes a CPU profile of the ledge process to /tmp/ledge-c8y-prof: V8's (.cpuprofile)
 * for Node; for `bin`, Bun's markdown profile (`--cpu-prof-md`, sample counts per function and
 * caller) of the binary's bundle (dist/.build/bun/ledge.js) run by the checkout's Bun, since a
 * compiled binary takes no runtime flags. Profiled figures are not the binary's: do not record them.
 */
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { startMosquitto } from "../test/helpers/mosquitto.ts";
import { freePort, waitFor } from "../test/helpers/ports.ts";
import {
  BUN,
  binaryOf,
  cleanEnv,
  type Daemon,
  ensureBuilt,
  ROOT,
  startCommand,
  target,
  tempConfigDir,
} from "../test/helpers/targets-bin.ts";
import { JIT_WARMUP_MS, passThrough as measurePass, median, type QoS, warmUp } from "./lib/pass-through.ts";
import { type Figure, recordResults, round, table } from "./lib/results.ts";

const N = Number(process.env.N ?? 30_000);
const RUNS = Number(process.env.RUNS ?? 3);
const WARMUP = 5_000;
const TOPIC = "te/device/main///m/environment";
const C8Y = "c8y/measurement/measurements/create";
const RAW = "bench/raw";
const PAYLOAD = '{"temperature":21.5,"humidity":40.25,"pressure":1013.2,"time":"2024-01-01T00:00:00.000Z"}';
const IDLE_MS = 5_000;
const PROF_DIR = "/tmp/ledge-c8y-prof";
/** `burst` (default): fire and forget, yielding every 512; `await`: each publish awaited (PUBACK at QoS 1). */
const PUBLISH = process.env.PUBLISH ?? "burst";

const passThrough = (port: number, pid: number, pubTopic: string, subTopic: string, qos: QoS, n: number) =>
  measurePass(port, pid, pubTopic, subTopic, qos, n, { payload: PAYLOAD, publish: PUBLISH, idleMs: IDLE_MS });

function startLedge(runtime: "node" | "bin", port: number): Daemon {
  const { dir } = tempConfigDir(port);
  appendFileSync(join(dir, "ledge.toml"), '[device]\nid = "bench-device"\n[log]\nlevel = "warn"\n');
  const args = ["--config-dir", dir, "run", "broker", "c8y-mapper"];
  if (runtime === "bin" && process.env.PROFILE)
    return startCommand(
      BUN,
      ["--cpu-prof-md", `--cpu-prof-dir=${PROF_DIR}`, join(ROOT, "dist/.build/bun/ledge.js"), ...args],
      cleanEnv(),
    );
  if (runtime === "bin") return startCommand(binaryOf(target("linux-x64")), args, cleanEnv());
  const prof = process.env.PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${PROF_DIR}`] : [];
  return startCommand(
    process.execPath,
    [...prof, "--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args],
    cleanEnv(),
  );
}

async function ledgeReady(port: number, d: Daemon): Promise<void> {
  await waitFor(
    "ledge c8y-mapper health up",
    async () => {
      if (d.proc.exitCode !== null) throw new Error(`ledge exited: ${d.output()}`);
      try {
        const c = await mqtt.connectAsync({
          host: "127.0.0.1",
          port,
          reconnectPeriod: 0,
          connectTimeout: 500,
        });
        let up = false;
        c.on("message", (_t, p) => {
          up ||= p.toString().includes('"up"');
        });
        await c.subscribeAsync("te/device/main/service/ledge-c8y-mapper/status/health");
        await new Promise((r) => setTimeout(r, 100));
        await c.endAsync(true);
        return up || undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
    100,
  );
}

interface Row {
  ledge: number;
  mosquitto: number;
  lost: number;
  /** Broker-process CPU per delivered message (µs): steadier than rates on a busy machine. */
  ledgeCpuUs: number;
  mosquittoCpuUs: number;
  /** The embedded broker's own pass-through in the same process (a topic the mapper ignores): the ceiling. */
  brokerOnly: number;
  brokerCpuUs: number;
}

async function measure(runtime: "node" | "bin"): Promise<Record<QoS, Row>> {
  const out = {} as Record<QoS, Row>;
  const port = await freePort();
  const ledge = startLedge(runtime, port);
  const mosq = await startMosquitto();
  try {
    await ledgeReady(port, ledge);
    for (const qos of [0, 1] as QoS[]) {
      const lp = ledge.proc.pid!;
      const mp = mosq.proc.pid!;
      await warmUp(() => passThrough(port, lp, TOPIC, C8Y, qos, WARMUP));
      await passThrough(mosq.port, mp, TOPIC, TOPIC, qos, WARMUP);
      const l: number[] = [];
      const m: number[] = [];
      const lc: number[] = [];
      const ar: number[] = [];
      const ac: number[] = [];
      const mc: number[] = [];
      let lost = 0;
      // Interleaved, so machine noise hits both alike.
      for (let r = 0; r < RUNS; r++) {
        const a = await passThrough(port, lp, TOPIC, C8Y, qos, N);
        const b = await passThrough(mosq.port, mp, TOPIC, TOPIC, qos, N);
        const c = await passThrough(port, lp, RAW, RAW, qos, N);
        ar.push(c.rate);
        ac.push(c.cpuUs);
        l.push(a.rate);
        m.push(b.rate);
        lc.push(a.cpuUs);
        mc.push(b.cpuUs);
        lost += a.lost + b.lost;
        process.stdout.write(
          `${runtime} qos${qos} run ${r + 1}: ledge ${Math.round(a.rate)}/s (lost ${a.lost}, ${a.cpuUs.toFixed(1)} µs CPU/msg), ` +
            `mosquitto ${Math.round(b.rate)}/s (lost ${b.lost}, ${b.cpuUs.toFixed(1)} µs CPU/msg), ` +
            `embedded broker alone ${Math.round(c.rate)}/s (${c.cpuUs.toFixed(1)} µs CPU/msg)\n`,
        );
      }
      out[qos] = {
        ledge: median(l),
        mosquitto: median(m),
        lost,
        ledgeCpuUs: median(lc),
        brokerOnly: median(ar),
        brokerCpuUs: median(ac),
        mosquittoCpuUs: median(mc),
      };
    }
  } finally {
    await ledge.stop();
    await mosq.stop();
  }
  return out;
}

function binaryUsable(): boolean {
  if (!existsSync(binaryOf(target("linux-x64")))) return false;
  try {
    ensureBuilt(["linux-x64"]); // rebuild when older than the sources, so the figures are of this code
    return true;
  } catch (e) {
    process.stderr.write(`x64 binary not rebuilt, measuring Node only: ${(e as Error).message}\n`);
    return false;
  }
}

const hasBin = process.env.BENCH_RUNTIME === "node" ? false : binaryUsable();
const choice = process.env.BENCH_RUNTIME ?? (hasBin ? "both" : "node");
const runtimes = (choice === "both" ? ["bin", "node"] : [choice]) as ("node" | "bin")[];
const results: Partial<Record<"node" | "bin", Record<QoS, Row>>> = {};
for (const rt of runtimes) results[rt] = await measure(rt);

// Node is the headline (the runtime the issue's calibration used); the x64 binary (Bun) is recorded beside it.
const main = results.node ?? results.bin!;
const mainName = results.node ? "Node + tsx" : "x64 binary (Bun)";
const figures: Record<string, Figure> = {
  "c8y.msgs_per_s_qos0": { value: main[0].ledge, unit: "msg/s" },
  "c8y.msgs_per_s_qos1": { value: main[1].ledge, unit: "msg/s" },
  "c8y.mosquitto_msgs_per_s_qos0": { value: main[0].mosquitto, unit: "msg/s" },
  "c8y.mosquitto_msgs_per_s_qos1": { value: main[1].mosquitto, unit: "msg/s" },
  "c8y.ratio_qos0": { value: main[0].ledge / main[0].mosquitto, unit: "x" },
  "c8y.ratio_qos1": { value: main[1].ledge / main[1].mosquitto, unit: "x" },
  "c8y.cpu_us_per_msg_qos0": { value: main[0].ledgeCpuUs, unit: "µs" },
  "c8y.cpu_us_per_msg_qos1": { value: main[1].ledgeCpuUs, unit: "µs" },
  "c8y.mosquitto_cpu_us_per_msg_qos0": { value: main[0].mosquittoCpuUs, unit: "µs" },
  "c8y.mosquitto_cpu_us_per_msg_qos1": { value: main[1].mosquittoCpuUs, unit: "µs" },
  "c8y.broker_only_msgs_per_s_qos0": { value: main[0].brokerOnly, unit: "msg/s" },
  "c8y.broker_only_msgs_per_s_qos1": { value: main[1].brokerOnly, unit: "msg/s" },
};
if (results.node && results.bin) {
  for (const qos of [0, 1] as QoS[]) {
    const r = results.bin[qos];
    figures[`c8y.bin_msgs_per_s_qos${qos}`] = { value: r.ledge, unit: "msg/s" };
    figures[`c8y.bin_ratio_qos${qos}`] = { value: r.ledge / r.mosquitto, unit: "x" };
    figures[`c8y.bin_cpu_us_per_msg_qos${qos}`] = { value: r.ledgeCpuUs, unit: "µs" };
  }
}
const rows: (string | number)[][] = [];
for (const rt of runtimes) {
  for (const qos of [0, 1] as QoS[]) {
    const r = results[rt]![qos];
    rows.push([
      rt === "bin" ? "x64 binary (Bun)" : "Node + tsx",
      qos,
      Math.round(r.ledge),
      Math.round(r.mosquitto),
      `**${round(r.ledge / r.mosquitto)}×**`,
      "≥ 1.0×",
      `${Math.round(r.brokerOnly)} (${round(r.brokerOnly / r.mosquitto)}×)`,
      round(r.ledgeCpuUs),
      round(r.brokerCpuUs),
      round(r.mosquittoCpuUs),
      r.lost,
    ]);
  }
}
function analysis(): string {
  const hop = (r: Row) => round(r.ledgeCpuUs - r.brokerCpuUs);
  const lines = runtimes.map(
    (rt) =>
      `${rt === "bin" ? "x64 binary (Bun)" : "Node"}: the mapper's hop costs ${hop(results[rt]![0])} µs CPU per message at QoS 0 ` +
      `and ${hop(results[rt]![1])} µs at QoS 1 over the embedded broker's own forwarding.`,
  );
  return `**Where the time goes.** The embedded broker's own pass-through in the same process is the
ceiling a mapper inside it can reach; the difference is the mapper's hop (JSON parse, validation,
translation, serialisation, the second routing): ${lines.join(" ")}`;
}

const md = `## Cumulocity mapper throughput (te → c8y)

\`ledge run broker c8y-mapper\` on loopback: one mqtt.js publisher of ${N} measurements
(${PAYLOAD.length} bytes, \`${TOPIC}\`, ${PUBLISH === "burst" ? "published back to back" : "each publish awaited"}), one
mqtt.js subscriber on \`${C8Y}\`; the mapper runs in the broker's process on the in-process bus (no
socket between broker and mapper). Beside it, in the same run: mosquitto's own pass-through
(\`max_queued_messages 0\`, one publisher and one subscriber, same count and size), and the embedded
broker's own pass-through in the same ledge process on a topic the mapper ignores (the ceiling a
mapper inside it can reach). Median of ${RUNS} interleaved runs after warm-up rounds of ${WARMUP} messages for at least ${JIT_WARMUP_MS / 1000} s (past the \`run.jit_rate\` switch to compiled code); rate =
delivered messages / (last delivery − first publish); CPU = user+system time of the broker process per
delivered message (steadier than rates on a shared machine). Headline figures (\`c8y.*\` in
results.json): ${mainName}${results.node && results.bin ? "; the x64 binary as `c8y.bin_*`" : ""}.

${table(
  [
    "ledge runtime",
    "QoS",
    "ledge te→c8y msg/s",
    "mosquitto msg/s",
    "ratio",
    "target",
    "embedded broker alone msg/s (ratio)",
    "ledge µs CPU/msg",
    "broker alone µs CPU/msg",
    "mosquitto µs CPU/msg",
    "lost",
  ],
  rows,
)}

${analysis()}
`;
// A profiled run's figures are the profiler's, not ledge's.
if (!process.env.PROFILE) recordResults("c8y", figures, md);
process.stdout.write(md);
