/**
 * Telemetry batching: cost and size of CBOR frames against one Thin Edge JSON message per reading,
 * in the same run.
 *
 * - Stream: 5 child devices × 10 series at 1 Hz (realistic resolutions: 0.01 °C, 0.1 V, integer
 *   counters ...), each device on its own phase.
 * - CPU (tinybench): Batcher.append (+ encode at each flush, + release) per reading, beside
 *   JSON.stringify of that reading's Thin Edge JSON message (time strings prepared outside the loop).
 * - Bytes per reading: frames flushed by the default config (age 10 s), against per-reading JSON
 *   (topic + payload, what each MQTT publish carries) and gzip (node:zlib) of the same JSON batch.
 * - Allocation: heap growth and GC count (PerformanceObserver "gc") over 1M appends after warm-up,
 *   with `--expose-gc` (bench/run.ts passes it), beside the same for JSON.stringify.
 */
import { spawnSync } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Bench } from "tinybench";
import { Batcher } from "../src/batch/index.ts";
import { type Figure, recordResults, round, table } from "./lib/results.ts";

const DEVICES = 5;
const SERIES: [name: string, start: number, step: number, decimals: number][] = [
  ["temperature", 21.4, 0.05, 2],
  ["humidity", 45.2, 0.3, 1],
  ["pressure", 1013.25, 0.05, 2],
  ["voltage", 230.1, 0.5, 1],
  ["current", 1.234, 0.02, 3],
  ["power", 283.4, 3, 1],
  ["energy", 123456, 0, 0], // counter, grows
  ["frequency", 50.0, 0.01, 2],
  ["rssi", -67, 1, 0],
  ["co2", 412, 3, 0],
];
const SECONDS = 600;
const T0 = Date.parse("2026-11-25T09:00:00.000Z");
const TYPE = "environment";
const BLOCK = 1000;
const ROUNDS = 5;

interface Stream {
  entity: string[];
  series: string[];
  value: Float64Array;
  ts: Float64Array;
  iso: string[];
}

function realisticStream(): Stream {
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const s: Stream = { entity: [], series: [], value: new Float64Array(0), ts: new Float64Array(0), iso: [] };
  const values: number[] = [];
  const tss: number[] = [];
  const state = Array.from({ length: DEVICES }, () => SERIES.map(([, start]) => start));
  for (let sec = 0; sec < SECONDS; sec++)
    for (let d = 0; d < DEVICES; d++) {
      const ts = T0 + sec * 1000 + d * 173 + Math.floor(rand() * 20);
      for (let k = 0; k < SERIES.length; k++) {
        const [name, , step, decimals] = SERIES[k]!;
        const st = state[d]!;
        const p = 10 ** decimals;
        st[k] = name === "energy" ? st[k]! + Math.floor(rand() * 3) : st[k]! + (rand() - 0.5) * step;
        const v = Math.round(st[k]! * p) / p;
        s.entity.push(`device/child-${d + 1}//`);
        s.series.push(name);
        values.push(v);
        tss.push(ts);
        s.iso.push(new Date(ts).toISOString());
      }
    }
  s.value = Float64Array.from(values);
  s.ts = Float64Array.from(tss);
  return s;
}

const teJson = (s: Stream, i: number) => JSON.stringify({ [s.series[i]!]: s.value[i]!, time: s.iso[i]! });
const topicOf = (s: Stream, i: number) => `te/${s.entity[i]}/m/${TYPE}`;

/** Bytes per reading for frames flushed by age (default config), per-reading JSON, gzip per batch. */
function sizes(s: Stream) {
  const n = s.value.length;
  const b = new Batcher({ maxBytes: 65536, maxCount: 1000, maxAgeMs: 10_000 });
  let frameBytes = 0;
  let frames = 0;
  let jsonBytes = 0;
  let payloadBytes = 0;
  let gzipBytes = 0;
  let frameGzipBytes = 0;
  let batchLines: string[] = [];
  const closeBatch = (f: Uint8Array | undefined) => {
    if (!f) return;
    frames++;
    frameBytes += f.length;
    frameGzipBytes += gzipSync(f).length;
    gzipBytes += gzipSync(batchLines.join("\n")).length;
    batchLines = [];
    b.release(f);
  };
  for (let i = 0; i < n; i++) {
    const f = b.append(s.entity[i]!, TYPE, s.series[i]!, s.value[i]!, s.ts[i]!, s.ts[i]!);
    // An age flush includes the record that triggered it; a JSON batch of the same readings does too.
    const payload = teJson(s, i);
    const topic = topicOf(s, i);
    payloadBytes += Buffer.byteLength(payload);
    jsonBytes += Buffer.byteLength(payload) + Buffer.byteLength(topic);
    batchLines.push(`${topic} ${payload}`);
    closeBatch(f);
  }
  closeBatch(b.flush());
  return {
    frames,
    frame: frameBytes / n,
    frameGzip: frameGzipBytes / n,
    json: jsonBytes / n,
    payload: payloadBytes / n,
    gzip: gzipBytes / n,
    perFrame: n / frames,
  };
}

/**
 * ns per reading, from tinybench tasks that each process BLOCK readings per iteration. The machine
 * may be shared, so both tasks run in ROUNDS alternating rounds and each figure is its median.
 */
async function cpu(s: Stream) {
  const n = s.value.length;
  const b = new Batcher({ maxBytes: 65536, maxCount: 1000, maxAgeMs: 10_000 });
  let i = 0;
  let j = 0;
  let sink = 0;
  const batchNs: number[] = [];
  const jsonNs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({ time: 400, warmupTime: 100 });
    bench.add("batch append+encode", () => {
      for (let k = 0; k < BLOCK; k++) {
        const f = b.append(s.entity[i]!, TYPE, s.series[i]!, s.value[i]!, s.ts[i]!, s.ts[i]!);
        if (f) {
          sink += f.length;
          b.release(f);
        }
        if (++i === n) i = 0;
      }
    });
    bench.add("JSON.stringify per reading", () => {
      for (let k = 0; k < BLOCK; k++) {
        sink += JSON.stringify({ [s.series[j]!]: s.value[j]!, time: s.iso[j]! }).length;
        if (++j === n) j = 0;
      }
    });
    await bench.run();
    const ns = (name: string) => {
      const r = bench.getTask(name)?.result;
      if (!r || !("latency" in r)) throw new Error(`bench task ${name} did not run`);
      return (r.latency.mean * 1e6) / BLOCK;
    };
    batchNs.push(ns("batch append+encode"));
    jsonNs.push(ns("JSON.stringify per reading"));
  }
  return { batch: median(batchNs), json: median(jsonNs), sink };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const tick = () => new Promise((r) => setTimeout(r, 50));
const M = 1_000_000;

type ProbeMode = "batch" | "batch-big-frames" | "json";
interface Probe {
  allocated: number;
  gcs: number;
  frames: number;
}

/**
 * Run in a child process (a fresh heap per probe): bytes allocated and GC events over 1M readings
 * after a 1M warm-up. With a young generation too large to fill, the heap growth is exactly what the
 * readings allocated; with default flags, the GC count is what a real process would see.
 */
async function probe(mode: ProbeMode): Promise<Probe> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc (npm run bench does)");
  const s = realisticStream();
  const n = s.value.length;
  const b =
    mode === "batch-big-frames"
      ? new Batcher({ maxBytes: 1 << 20, maxCount: 100_000, maxAgeMs: 100_000 })
      : new Batcher({ maxBytes: 65536, maxCount: 1000, maxAgeMs: 10_000 });
  let sink = 0;
  let frames = 0;
  let pass = 0;
  let i = 0;
  const span = s.ts[n - 1]! - s.ts[0]! + 1000;
  // Timestamps keep increasing across passes, as a real stream's would.
  const batchWork = (count: number) => {
    const { entity, series, value, ts } = s;
    for (let k = 0; k < count; k++) {
      const t = ts[i]! + pass * span;
      const f = b.append(entity[i]!, TYPE, series[i]!, value[i]!, t, t);
      if (f) {
        frames++;
        sink += f.length;
        b.release(f);
      }
      if (++i === n) {
        i = 0;
        pass++;
      }
    }
  };
  const jsonWork = (count: number) => {
    for (let k = 0; k < count; k++) {
      sink += JSON.stringify({ [s.series[i]!]: s.value[i]!, time: s.iso[i]! }).length;
      if (++i === n) i = 0;
    }
  };
  const work = mode === "json" ? jsonWork : batchWork;
  work(3 * M); // warm up: the hot loop and cbor-x optimized, buffers pooled, names interned
  // Five rounds: allocation is the smallest (a round where the JIT recompiled something counts
  // that code too, which is not the readings' doing), GC events the median.
  const rounds: Probe[] = [];
  for (let r = 0; r < 5; r++) {
    gc();
    await tick();
    let gcs = 0;
    const obs = new PerformanceObserver((list) => {
      gcs += list.getEntries().length;
    });
    obs.observe({ entryTypes: ["gc"] });
    const f0 = frames;
    const before = process.memoryUsage().heapUsed;
    work(M);
    const after = process.memoryUsage().heapUsed;
    await tick();
    obs.disconnect();
    rounds.push({ allocated: after - before, gcs, frames: frames - f0 });
  }
  if (sink < 0) process.stderr.write("unreachable");
  const gcs = rounds.map((r) => r.gcs).sort((a, b) => a - b)[2]!;
  const least = rounds.sort((a, b) => a.allocated - b.allocated)[0]!;
  return { ...least, gcs };
}

function runProbe(mode: ProbeMode, bigYoung: boolean): Probe {
  const flags = [
    "--import",
    "tsx",
    "--expose-gc",
    ...(bigYoung ? ["--min-semi-space-size=256", "--max-semi-space-size=256"] : []),
  ];
  const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), "--probe", mode], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`probe ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Probe;
}

async function main() {
  const s = realisticStream();
  const n = s.value.length;
  const sz = sizes(s);
  const c = await cpu(s);

  const batchAlloc = runProbe("batch", true);
  const bigAlloc = runProbe("batch-big-frames", true);
  const jsonAlloc = runProbe("json", true);
  const batchGc = runProbe("batch", false);
  const jsonGc = runProbe("json", false);
  // allocated = perFrame × frames + perReading × readings, from two frame sizes over the same readings.
  const perFrame = (batchAlloc.allocated - bigAlloc.allocated) / (batchAlloc.frames - bigAlloc.frames);
  const perReading = Math.max(0, (batchAlloc.allocated - perFrame * batchAlloc.frames) / M);

  const figures: Record<string, Figure> = {
    "batch.ns_per_measurement": { value: c.batch, unit: "ns" },
    "batch.json_ns_per_measurement": { value: c.json, unit: "ns" },
    "batch.bytes_per_measurement": { value: sz.frame, unit: "B" },
    "batch.json_bytes_per_measurement": { value: sz.json, unit: "B" },
    "batch.gzip_bytes_per_measurement": { value: sz.gzip, unit: "B" },
    "batch.heap_growth_bytes_per_1m": { value: batchAlloc.allocated, unit: "B" },
    "batch.alloc_bytes_per_measurement": { value: perReading, unit: "B" },
    "batch.alloc_bytes_per_frame": { value: perFrame, unit: "B" },
    "batch.gc_count_per_1m": { value: batchGc.gcs, unit: "count" },
  };
  const x = (a: number, b: number) => `${round(a / b)}x`;
  const md = [
    "## Telemetry batching (CBOR frames)",
    "",
    `\`bench/batch.ts\` on ${process.release.name} ${process.version}: a stream of ${DEVICES} child devices × ` +
      `${SERIES.length} series at 1 Hz (${n} readings, ${SECONDS} s), frames flushed by age (10 s, ` +
      `${round(sz.perFrame)} readings per frame).`,
    "",
    table(
      ["figure", "CBOR frames", "JSON per reading", "ratio"],
      [
        [
          "append+encode vs JSON.stringify, ns per reading",
          round(c.batch),
          round(c.json),
          `${x(c.json, c.batch)} cheaper`,
        ],
        [
          "bytes per reading (JSON: topic + payload)",
          round(sz.frame),
          round(sz.json),
          `${x(sz.json, sz.frame)} smaller`,
        ],
        [
          "bytes per reading, JSON payload only",
          round(sz.frame),
          round(sz.payload),
          `${x(sz.payload, sz.frame)} smaller`,
        ],
        [
          "bytes per reading, JSON batch gzipped (node:zlib)",
          round(sz.frame),
          round(sz.gzip),
          `${x(sz.gzip, sz.frame)} smaller`,
        ],
        [
          "bytes per reading, both gzipped (for reference)",
          round(sz.frameGzip),
          round(sz.gzip),
          `${x(sz.gzip, sz.frameGzip)} smaller`,
        ],
        [
          `heap growth over 1M readings, no GC in between (${batchAlloc.frames} frames), bytes`,
          batchAlloc.allocated,
          jsonAlloc.allocated,
          `${x(jsonAlloc.allocated, batchAlloc.allocated)} less`,
        ],
        [`same with ${bigAlloc.frames} larger frames, bytes`, bigAlloc.allocated, "", ""],
        [
          "→ allocated per reading / per frame, bytes",
          `${round(perReading)} / ${round(perFrame)}`,
          round(jsonAlloc.allocated / M),
          "",
        ],
        ["GC events over 1M readings (default heap flags)", batchGc.gcs, jsonGc.gcs, ""],
      ],
    ),
    "",
    "Targets (issue 4): frames ≤ 1/5 of per-reading JSON bytes; append+encode ≥ 5x cheaper than " +
      "JSON.stringify per reading; no per-reading allocation in steady state (released frames reuse " +
      "their buffers).",
  ].join("\n");
  recordResults("batch", figures, md);
  process.stdout.write(`${md}\n`);
  if (c.sink < 0) process.stdout.write(String(c.sink));
}

if (process.argv[2] === "--probe")
  process.stdout.write(JSON.stringify(await probe(process.argv[3] as ProbeMode)));
else await main();
