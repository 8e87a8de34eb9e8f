/**
 * Whole-process measurements for bench/footprint.ts: memory and CPU from /proc, start-up to the first
 * retained health `up`, idle and loaded `ledge run`, variant and baseline binaries built with the same Bun.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { canConnect, freePort } from "../test/helpers/ports.ts";
import {
  binaryOf,
  type Daemon,
  ROOT,
  startCommand,
  target,
  tempConfigDir,
} from "../test/helpers/targets-bin.ts";

export const LOAD_S = Number(process.env.LOAD_S ?? 60);
export const LOAD_RATE = 1000;
const IDLE_SETTLE_MS = 5000;
const HEALTH = "te/device/main/service/+/status/health";

export interface Mem {
  rss: number;
  anon: number;
  file: number;
  hwm: number;
}

/** VmRSS, RssAnon, RssFile, VmHWM of a process, in MiB. */
export function memOf(pid: number): Mem {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile"), hwm: kb("VmHWM") };
}

/** User+system CPU seconds of a process so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** RSS of a daemon `settleMs` after it got ready: the median of 5 samples 300 ms apart. */
export async function settled(d: Daemon, settleMs = 4000): Promise<Mem> {
  await sleep(settleMs);
  const samples: Mem[] = [];
  for (let i = 0; i < 5; i++, await sleep(300)) samples.push(memOf(d.proc.pid as number));
  return {
    rss: median(samples.map((s) => s.rss)),
    anon: median(samples.map((s) => s.anon)),
    file: median(samples.map((s) => s.file)),
    hwm: 0,
  };
}

/** mqtt.js client to `port`, retrying every 2 ms until `deadline`, then waiting for a retained health up. */
export async function waitHealthUp(port: number, deadline: number): Promise<MqttClient> {
  while (!(await canConnect(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await sleep(2);
  }
  const client = await mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 0 });
  const up = new Promise<void>((resolve) =>
    client.on("message", (_t, payload) => {
      if (payload.toString().includes('"up"')) resolve();
    }),
  );
  await client.subscribeAsync(HEALTH);
  await Promise.race([
    up,
    sleep(Math.max(0, deadline - Date.now())).then(() => Promise.reject(new Error("no health up"))),
  ]);
  return client;
}

/** A way to start `ledge run`: the binary, or the ESM bundle on Node, with a temp config. */
export type Launcher = (args: string[]) => Daemon;

export function launcherFor(bin: string, viaNode = false): Launcher {
  return (args) =>
    viaNode
      ? startCommand(process.execPath, [join(ROOT, "dist/ledge.mjs"), ...args])
      : startCommand(bin, args);
}

/** What a plain `ledge run` starts, as the binary reports it. */
export function defaultComponents(): string {
  const cfg = tempConfigDir(1883);
  try {
    const r = spawnSync(
      binaryOf(target("linux-x64")),
      ["--config-dir", cfg.dir, "config", "get", "run.components"],
      {
        encoding: "utf8",
      },
    );
    return `broker, ${r.stdout
      .trim()
      .replace(/[[\]"]/g, "")
      .split(/[\s,]+/)
      .filter(Boolean)
      .join(", ")}`;
  } finally {
    cfg.cleanup();
  }
}

export async function startupMs(launch: Launcher, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const cfg = tempConfigDir(port);
    const t0 = performance.now();
    const d = launch(["--config-dir", cfg.dir, "run"]);
    try {
      const client = await waitHealthUp(port, Date.now() + 10_000);
      times.push(performance.now() - t0);
      await client.endAsync();
    } finally {
      await d.stop();
      cfg.cleanup();
    }
  }
  return median(times);
}

/**
 * Drops a file's pages from the page cache (posix_fadvise DONTNEED through dd): a binary just built
 * or copied reads 4–5 MiB high otherwise, pages that a gateway's cold start would not have.
 */
export function evict(file: string): void {
  spawnSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]);
}

/**
 * Starts `ledge run`, waits for health up and lets it settle, then samples its memory; with
 * `evictFirst`, that file's pages are dropped from the page cache before the start.
 */
export async function idle(
  launch: Launcher,
  components: string[] = [],
  evictFirst?: string,
): Promise<{ mem: Mem; daemon: Daemon; port: number; cleanup(): void }> {
  const port = await freePort();
  const cfg = tempConfigDir(port);
  if (evictFirst) evict(evictFirst);
  const daemon = launch(["--config-dir", cfg.dir, "run", ...components]);
  const client = await waitHealthUp(port, Date.now() + 10_000);
  await client.endAsync();
  await sleep(IDLE_SETTLE_MS);
  const pid = daemon.proc.pid as number;
  return { mem: memOf(pid), daemon, port, cleanup: cfg.cleanup };
}

/** 1,000 measurements/s to te/device/main///m/env for LOAD_S seconds; memory sampled every second. */
export async function underLoad(pid: number, port: number, loadS = LOAD_S) {
  const client = await mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 0 });
  const samples: Mem[] = [];
  const cpu0 = cpuSeconds(pid);
  let sent = 0;
  const t0 = performance.now();
  const sampler = setInterval(() => samples.push(memOf(pid)), 1000);
  // 10 messages every 10 ms, catching up if a tick came late, so the rate holds at 1,000/s
  while (performance.now() - t0 < loadS * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * LOAD_RATE);
    while (sent < due) {
      const payload = `{"temperature":${(20 + (sent % 100) / 10).toFixed(1)},"humidity":${40 + (sent % 7)}}`;
      client.publish("te/device/main///m/env", payload);
      sent++;
    }
    await sleep(10);
  }
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  await client.endAsync();
  const cpu = cpuSeconds(pid) - cpu0;
  const second = samples.slice(Math.floor(samples.length / 2));
  const first = samples.slice(0, Math.floor(samples.length / 2));
  return {
    rate: sent / seconds,
    steady: median(second.map((s) => s.rss)),
    growth: median(second.map((s) => s.rss)) - median(first.map((s) => s.rss)),
    peak: memOf(pid).hwm,
    cpuPercent: (cpu / seconds) * 100,
  };
}

/** Variants of the x64 binary built from the same bundle, for what-was-tried figures. */
export function buildVariant(
  name: string,
  flags: string[],
  entry = join(ROOT, "dist/.build/bun/ledge.js"),
): string {
  const out = join(ROOT, "dist/.build", `ledge-x64-${name}`);
  const r = spawnSync(
    join(ROOT, "node_modules/.bin/bun"),
    [
      "build",
      entry,
      "--compile",
      "--minify",
      ...flags,
      `--outfile=${out}`,
      "--external=cbor-extract",
      "--external=bun:*",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`bun build variant ${name}: ${r.stderr}`);
  return out;
}

/** Tiny scripts compiled with the same Bun: what the runtime and the big dependencies cost by themselves. */
export const BASELINES: [string, string][] = [
  ["Bun runtime, empty script (timer only)", "setInterval(() => {}, 1000);"],
  [
    "+ node:net server on loopback",
    'import { createServer } from "node:net";\ncreateServer(() => {}).listen(0, "127.0.0.1");',
  ],
  ["Bun.listen socket on loopback", 'Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });'],
  [
    "+ mqtt.js imported",
    'import mqtt from "mqtt";\nglobalThis.keep = mqtt;\n' +
      'Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });',
  ],
];

export async function baselineMem(index: number, source: string): Promise<Mem> {
  const src = join(ROOT, "dist/.build", `baseline-${index}.mjs`);
  writeFileSync(src, `${source}\n`);
  const bin = buildVariant(`baseline-${index}`, ["--bytecode", "--format=esm"], src);
  const d = startCommand(bin, []);
  await sleep(IDLE_SETTLE_MS / 2);
  const mem = memOf(d.proc.pid as number);
  await d.stop();
  return mem;
}
