/**
 * Flows figures (`flows.*`), each measured on Node and on Bun (this file re-runs itself under both):
 * - messages/s through a three-step flow on the in-process bus (`ledge run` with broker + flows),
 *   against the same bus relaying the messages with no flow;
 * - per-step overhead in µs (built-in and JavaScript steps, direct calls, no bus);
 * - the cost of the sandbox's time and memory limits on a CPU-heavy JavaScript step;
 * - RSS of 20 JavaScript flows loaded;
 * and, runtime-independent, the bytes a 1 Hz sensor sends upstream in a day, raw vs through
 * 60 s aggregation + deadband (the README's worked example).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../src/app/run.ts";
import { loadConfig } from "../src/config/store.ts";
import { parseFlow } from "../src/flows/config.ts";
import { Flow } from "../src/flows/flow.ts";
import { FlowSet } from "../src/flows/flow-set.ts";
import { quickjs } from "../src/flows/sandbox.ts";
import { FlowStats } from "../src/flows/stats.ts";
import { MapKeyValue } from "../src/flows/types.ts";
import { createLogger } from "../src/foundation/logger.ts";
import { flowsTree } from "../test/helpers/flows.ts";
import { freePort } from "../test/helpers/ports.ts";
import { recordResults, round, table } from "./lib/results.ts";

const LIMITS = { timeoutMs: 500, memoryBytes: 64 * 1024 * 1024 };
const PASS_JS = `export function onMessage(m) { return m; }`;
const THREE_BUILTIN = `steps = [
  { builtin = "scale", config.series = { t = { factor = 1.0, offset = 0.0 } } },
  { builtin = "rename", config.series = { x = "y" } },
  { builtin = "set-topic", config.topic = "out/x" },
]`;
const THREE_JS = `steps = [{ script = "a.js" }, { script = "b.js" }, { script = "c.js" }]\noutput.mqtt.topic = "out/x"`;
const jsFiles = (dir: string) => ({
  [`${dir}/a.js`]: PASS_JS,
  [`${dir}/b.js`]: PASS_JS,
  [`${dir}/c.js`]: PASS_JS,
});

const env = (stats?: FlowStats) => ({
  mapper: new MapKeyValue(),
  scriptStore: () => new MapKeyValue(),
  limits: LIMITS,
  log: () => () => {},
  stats,
});

async function loadFlow(
  steps: string,
  files: Record<string, string> = {},
  limits = LIMITS,
  stats?: FlowStats,
): Promise<Flow> {
  const { flowsDir } = flowsTree({ "f/flow.toml": `input.mqtt.topics = ["in/x"]\n${steps}\n`, ...files });
  return Flow.load(
    parseFlow(`input.mqtt.topics = ["in/x"]\n${steps}\n`, join(flowsDir, "f/flow.toml"), "f", {
      params: {},
      mapper: {},
    }),
    { ...env(stats), limits },
  );
}

/** µs per message through `flow` (direct calls). */
function usPerMessage(flow: Flow, n: number, warm = 2000): number {
  const payload = new TextEncoder().encode('{"t":21.5,"x":1}');
  for (let i = 0; i < warm; i++) flow.onMessage({ topic: "in/x", payload, time: new Date() });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) flow.onMessage({ topic: "in/x", payload, time: new Date() });
  return ((performance.now() - t0) * 1000) / n;
}

/** Messages/s from publish on the in-process bus to delivery on `out/#` (or on `in/x` with no flow). */
async function busRate(withFlow: "none" | "relay" | "builtin" | "js", n: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "ledge-bench-flows-"));
  if (withFlow !== "none")
    flowsTree(
      withFlow === "relay"
        ? { "f/flow.toml": `input.mqtt.topics = ["in/x"]\nsteps = []\noutput.mqtt.topic = "out/x"\n` }
        : withFlow === "builtin"
          ? { "f/flow.toml": `input.mqtt.topics = ["in/x"]\n${THREE_BUILTIN}\n` }
          : { "f/flow.toml": `input.mqtt.topics = ["in/x"]\n${THREE_JS}\n`, ...jsFiles("f") },
      "local",
      dir,
    );
  const port = await freePort();
  const config = loadConfig(dir, {}).with({
    "mqtt.bind.port": port,
    "data.path": join(dir, "data"),
    "device.id": "bench",
  });
  const running = await run(
    config,
    ["broker", ...(withFlow === "none" ? [] : ["flows"])],
    createLogger({ level: "error" }),
  );
  let got = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  await running.bus.subscribe(withFlow === "none" ? "in/x" : "out/x", () => {
    if (++got === n) done();
  });
  const payload = '{"t":21.5,"x":1}';
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    void running.bus.publish("in/x", payload, { qos: 0 });
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await all;
  const rate = n / ((performance.now() - t0) / 1000);
  await running.stop();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

async function child(): Promise<void> {
  // what loading the QuickJS WASM module costs, before anything else touched it
  (globalThis as { gc?: () => void }).gc?.();
  const rssNoWasm = process.memoryUsage().rss;
  await quickjs();
  (globalThis as { gc?: () => void }).gc?.();
  const rssQuickjs = (process.memoryUsage().rss - rssNoWasm) / 1048576;
  const N = 20000;
  const zero = usPerMessage(await loadFlow("steps = []"), N);
  const builtin3 = usPerMessage(await loadFlow(THREE_BUILTIN), N);
  const js3 = usPerMessage(await loadFlow(THREE_JS, jsFiles("f")), N);
  const heavy = `export function onMessage(m) { let s = 0; for (let i = 0; i < 200000; i++) s += i % 7; return { topic: "o", payload: String(s) }; }`;
  // limits on and off alternately, median of the rounds: one long measurement each would mostly show JIT and GC drift
  const on = await loadFlow(`steps = [{ script = "h.js" }]`, { "f/h.js": heavy });
  const off = await loadFlow(
    `steps = [{ script = "h.js" }]`,
    { "f/h.js": heavy },
    {
      timeoutMs: Number.POSITIVE_INFINITY,
      memoryBytes: LIMITS.memoryBytes,
    },
  );
  const ratios: number[] = [];
  for (let i = 0; i < 15; i++) ratios.push(usPerMessage(on, 10, 1) / usPerMessage(off, 10, 1));
  ratios.sort((a, b) => a - b);
  const limitsRatio = ratios[7] as number;
  // statistics (thin-edge's per-flow counters and CPU min/max, per-step ones on): µs they add per
  // message through the three built-in steps, median of alternating rounds
  const counted = await loadFlow(
    THREE_BUILTIN,
    {},
    LIMITS,
    new FlowStats({ onMessage: true, onInterval: true, onStartup: true }),
  );
  const plain = await loadFlow(THREE_BUILTIN);
  const extra: number[] = [];
  for (let i = 0; i < 15; i++) extra.push(usPerMessage(counted, 5000, 500) - usPerMessage(plain, 5000, 500));
  extra.sort((a, b) => a - b);
  const statsUs = extra[7] as number;
  const rates = {
    none: await busRate("none", 100_000),
    relay: await busRate("relay", 100_000),
    builtin: await busRate("builtin", 100_000),
    js: await busRate("js", 50_000),
  };
  // RSS of 20 JavaScript flows (one QuickJS runtime per step), the WASM module loaded before the baseline is taken
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) {
    files[`f${i}/flow.toml`] =
      `input.mqtt.topics = ["in/${i}"]\nsteps = [{ script = "main.js" }, { builtin = "deadband" }, { builtin = "aggregate" }]\n`;
    files[`f${i}/main.js`] = PASS_JS;
  }
  const { flowsDir } = flowsTree(files);
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage().rss;
  const set = new FlowSet("local", flowsDir, LIMITS, () => () => {});
  const changes = await set.refresh();
  (globalThis as { gc?: () => void }).gc?.();
  const rss20 = process.memoryUsage().rss;
  if (set.live().length !== 20)
    throw new Error(`loaded ${set.live().length} flows: ${changes.map((c) => c.error).join("; ")}`);
  process.stdout.write(
    `${JSON.stringify({
      stepUsBuiltin: (builtin3 - zero) / 3,
      stepUsJs: (js3 - zero) / 3,
      flowUsZero: zero,
      limitsOverheadPct: (limitsRatio - 1) * 100,
      statsUs,
      rates,
      rss20Mib: (rss20 - rss0) / 1048576,
      rssQuickjs,
    })}\n`,
  );
  set.close();
  process.exit(0);
}

/** A day of a 1 Hz temperature sensor: slow drift plus noise at the sensor's 0.1 °C resolution. */
async function upstreamBytes(): Promise<{
  raw: number;
  agg: number;
  aggDeadband: number;
  msgs: [number, number, number];
}> {
  const day = 86_400;
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const topic = "te/device/main///m/environment";
  const agg = await loadFlow(
    `steps = [{ builtin = "aggregate", config = { window = "60s", functions = ["min", "max", "mean"] } }]`,
  );
  const both = await loadFlow(
    `steps = [{ builtin = "aggregate", config = { window = "60s", functions = ["min", "max", "mean"] } }, { builtin = "deadband", config = { deadband = 0.3, max_age = "15m" } }]`,
  );
  let raw = 0;
  let rawN = 0;
  const sent = { agg: 0, both: 0, aggN: 0, bothN: 0 };
  const count = (k: "agg" | "both", out: { topic: string; payload: Uint8Array }[]) => {
    for (const m of out) {
      sent[k] += m.topic.length + m.payload.length;
      sent[`${k}N`]++;
    }
  };
  for (let s = 0; s < day; s++) {
    const v = Math.round((21 + 2 * Math.sin((2 * Math.PI * s) / day) + (rand() - 0.5) * 0.2) * 10) / 10;
    const payload = new TextEncoder().encode(JSON.stringify({ temperature: v }));
    raw += topic.length + payload.length;
    rawN++;
    const time = new Date(t0 + s * 1000);
    count("agg", agg.onMessage({ topic, payload, time }).out);
    count("both", both.onMessage({ topic, payload, time }).out);
    if (s % 60 === 59) {
      const tick = new Date(t0 + (s + 1) * 1000);
      for (const i of agg.intervals()) count("agg", agg.onInterval(i.index, tick).out);
      for (const i of both.intervals()) count("both", both.onInterval(i.index, tick).out);
    }
  }
  return { raw, agg: sent.agg, aggDeadband: sent.both, msgs: [rawN, sent.aggN, sent.bothN] };
}

if (process.argv.includes("--child")) await child();
else {
  const self = new URL(import.meta.url).pathname;
  const runtimes: [string, string[]][] = [
    ["Node + tsx", [process.execPath, "--import", "tsx", "--expose-gc", self, "--child"]],
    ["Bun", [join(process.cwd(), "node_modules/.bin/bun"), self, "--child"]],
  ];
  type R = {
    stepUsBuiltin: number;
    stepUsJs: number;
    flowUsZero: number;
    limitsOverheadPct: number;
    statsUs: number;
    rates: { none: number; relay: number; builtin: number; js: number };
    rss20Mib: number;
    rssQuickjs: number;
  };
  const results: [string, R][] = [];
  for (const [name, [cmd, ...args]] of runtimes) {
    const r = spawnSync(cmd as string, args, { encoding: "utf8", maxBuffer: 1 << 20 });
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    if (r.status !== 0 || !line.startsWith("{")) throw new Error(`${name}: ${r.stderr}`);
    results.push([name, JSON.parse(line) as R]);
    process.stdout.write(`${name}: ${line}\n`);
  }
  const up = await upstreamBytes();
  const figures: Record<string, { value: number; unit: string }> = {};
  for (const [name, r] of results) {
    const k = name.startsWith("Bun") ? "bun" : "node";
    figures[`flows.${k}.msgs_per_s_no_flow`] = { value: r.rates.none, unit: "msg/s" };
    figures[`flows.${k}.msgs_per_s_relay_flow`] = { value: r.rates.relay, unit: "msg/s" };
    figures[`flows.${k}.rss_quickjs_mib`] = { value: r.rssQuickjs, unit: "MiB" };
    figures[`flows.${k}.msgs_per_s_three_builtin_steps`] = { value: r.rates.builtin, unit: "msg/s" };
    figures[`flows.${k}.msgs_per_s_three_js_steps`] = { value: r.rates.js, unit: "msg/s" };
    figures[`flows.${k}.step_us_builtin`] = { value: r.stepUsBuiltin, unit: "µs" };
    figures[`flows.${k}.step_us_js`] = { value: r.stepUsJs, unit: "µs" };
    figures[`flows.${k}.limits_overhead_pct`] = { value: r.limitsOverheadPct, unit: "%" };
    figures[`flows.${k}.stats_us_per_message`] = { value: r.statsUs, unit: "µs" };
    figures[`flows.${k}.rss_20_flows_mib`] = { value: r.rss20Mib, unit: "MiB" };
  }
  figures["flows.upstream_bytes_per_day_raw"] = { value: up.raw, unit: "B" };
  figures["flows.upstream_bytes_per_day_aggregate_deadband"] = { value: up.aggDeadband, unit: "B" };
  figures["flows.upstream_reduction_aggregate_deadband"] = { value: up.raw / up.aggDeadband, unit: "x" };
  const rows = results.map(([name, r]) => [
    name,
    Math.round(r.rates.none),
    `${Math.round(r.rates.relay)} (${round(r.rates.relay / r.rates.none)}×)`,
    `${Math.round(r.rates.builtin)} (${round(r.rates.builtin / r.rates.none)}×)`,
    `${Math.round(r.rates.js)} (${round(r.rates.js / r.rates.none)}×)`,
    round(r.stepUsBuiltin),
    round(r.stepUsJs),
    `${round(r.limitsOverheadPct)} %`,
    round(r.statsUs),
    round(r.rss20Mib),
    round(r.rssQuickjs),
  ]);
  const md = `## Flows (\`bench/flows.ts\`)

Messages/s from a publish on the in-process bus (\`ledge run\` with broker + flows, QoS 0) to delivery
of the flow's output, against the same bus delivering the input with no flow; per-step overhead from
direct calls (a flow of three steps minus a flow of none, per step); the cost of the sandbox's limits
on a CPU-heavy JavaScript step (200k loop iterations, limits on vs the same runtime without an
interrupt handler, median of alternating rounds); what flow statistics add per message through
the three built-in steps, every per-step record on too (\`flows.stats.on_*\`; median of alternating
rounds against the same flow without statistics); RSS growth when 20 flows (a JavaScript step +
deadband + aggregate each) load, with the QuickJS WASM module already loaded, and what loading that
module costs once (in-process deltas after GC, from source under each runtime, not the binaries).
A flow of 0 steps shows what the second bus hop costs by itself: input delivered to the flow,
output published and delivered again.

${table(
  [
    "runtime",
    "no flow msg/s",
    "flow of 0 steps (relay) msg/s",
    "3 built-in steps msg/s (ratio)",
    "3 JS steps msg/s (ratio)",
    "µs per built-in step",
    "µs per JS step",
    "limits cost",
    "statistics µs/msg",
    "RSS of 20 flows MiB",
    "QuickJS module MiB",
  ],
  rows,
)}

A 1 Hz temperature sensor for a day (86,400 readings, topic + payload bytes on te/ before the mapper):

${table(
  ["pipeline", "messages", "bytes", "reduction"],
  [
    ["raw", up.msgs[0], up.raw, "1×"],
    ["aggregate 60 s (min/max/mean)", up.msgs[1], up.agg, `${round(up.raw / up.agg)}×`],
    [
      "aggregate 60 s + deadband 0.3 (max_age 15 min)",
      up.msgs[2],
      up.aggDeadband,
      `**${round(up.raw / up.aggDeadband)}×**`,
    ],
  ],
)}`;
  recordResults("flows", figures, md);
  process.stdout.write(`${md}\n`);
}
