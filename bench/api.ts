/**
 * te/ API figures (issue 12): entity registrations through `ledge run` (embedded broker + api) —
 * sustained rate, RSS per registered entity, bytes written to disk per registration, health-check
 * latency while the flood runs — against the previous store's whole-file rewrite per registration
 * measured in the same run; and the peak RSS of a log_upload of a 1 GiB log (bench/api-log-upload.ts,
 * its own process).
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { run } from "../src/app/run.ts";
import { loadConfig } from "../src/config/store.ts";
import { writeFileAtomic } from "../src/foundation/files.ts";
import { createLogger } from "../src/foundation/logger.ts";
import { tempConfig } from "../test/helpers/cli.ts";
import { registrationFlood } from "../test/helpers/flood.ts";
import { recordResults, round, table } from "./lib/results.ts";

const N = 10_000;
const PEER_N = 1_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

const written = () => Number(/wchar: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))?.[1]);
const rss = () => {
  gc();
  return process.memoryUsage().rss;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { dir, port } = await tempConfig({ "run.components": ["api"], "log.level": "error" });
const config = loadConfig(dir, {});
const running = await run(config, [], createLogger({ level: "error" }));
const client = await mqtt.connectAsync({ host: "127.0.0.1", port });
const registered = new Set<string>();
let lastHealth = 0;
client.on("message", (topic) => {
  if (topic.endsWith("/status/health")) lastHealth = performance.now();
  else registered.add(topic);
});
await client.subscribeAsync(["te/+/+//", "te/device/main/service/ledge-api/status/health"], { qos: 0 });
await sleep(500);
const rssBefore = rss();
const wBefore = written();

// health checks every 50 ms while the flood runs, each timed from request to answer
const healthMs: number[] = [];
let flooding = true;
const prober = (async () => {
  while (flooding) {
    const t0 = performance.now();
    const seenBefore = lastHealth;
    await client.publishAsync("te/device/main/service/ledge-api/cmd/health/check", "{}", { qos: 0 });
    while (lastHealth === seenBefore && performance.now() - t0 < 10_000) await sleep(1);
    healthMs.push(performance.now() - t0);
    await sleep(50);
  }
})();

// raw MQTT in one write: this process stays idle while ledge handles it (with a client library
// publishing 10,000 messages in this process, its own work was in every health-check figure)
const flood = registrationFlood(N, "child", "bench-flood");
const flooder = connect(port, "127.0.0.1");
flooder.resume(); // the PUBACKs
await once(flooder, "connect");
const t0 = performance.now();
flooder.write(flood);
// "registered": the entity store holds every one (journal lines plus snapshot entries)
const stored = (): number => {
  const read = (f: string) => {
    try {
      return readFileSync(join(config.dataDir, f), "utf8");
    } catch {
      return "";
    }
  };
  const journal = read("entities.json.journal").match(/"topicId":"device\/child/g)?.length ?? 0;
  const snapshot = read("entities.json").match(/"topicId":"device\/child/g)?.length ?? 0;
  return journal + snapshot;
};
while (stored() < N) await sleep(20);
const seconds = (performance.now() - t0) / 1000;
flooding = false;
await prober;
await sleep(300);
const bytesPerReg = (written() - wBefore) / N;
const rssPerEntity = (rss() - rssBefore) / N;
healthMs.sort((a, b) => a - b);
const p50 = healthMs[Math.floor(healthMs.length / 2)] ?? Number.NaN;
const p99 = healthMs[Math.floor(healthMs.length * 0.99)] ?? Number.NaN;
const hmax = healthMs.at(-1) ?? Number.NaN;
flooder.destroy();
await client.endAsync();
await running.stop();
rmSync(dir, { recursive: true, force: true });

// the peer: the previous store, one whole-file atomic rewrite (fsync) of entities.json per registration
const peerDir = mkdtempSync(join(tmpdir(), "ledge-bench-peer-"));
const list: unknown[] = [];
const pw = written();
const p0 = performance.now();
for (let i = 0; i < PEER_N; i++) {
  list.push({
    topicId: `device/child${i}//`,
    registration: { "@type": "child-device", "@parent": "device/main//", name: `child${i}`, type: "bench" },
    auto: false,
  });
  writeFileAtomic(join(peerDir, "entities.json"), JSON.stringify(list, null, 1), 0o640);
}
const peerRate = PEER_N / ((performance.now() - p0) / 1000);
// bytes per registration grow with the store: extrapolated to N by the sum of the file sizes
const peerBytesAtN = (((written() - pw) / PEER_N) * N) / PEER_N;
rmSync(peerDir, { recursive: true, force: true });

// log upload of a 1 GiB log, in its own process so its peak RSS is its own
const lu = spawnSync(
  process.execPath,
  ["--import", "tsx", "--expose-gc", join(import.meta.dirname, "api-log-upload.ts")],
  {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  },
);
if (lu.status !== 0) throw new Error(`api-log-upload failed: ${lu.status}`);
const upload = JSON.parse(lu.stdout.trim().split("\n").at(-1)!) as {
  baseline_mib: number;
  tail_peak_mib: number;
  tail_s: number;
  search_peak_mib: number;
  search_s: number;
};

const figures = {
  "api.registrations_per_s": { value: N / seconds, unit: "registrations/s" },
  "api.rss_per_entity_bytes": { value: rssPerEntity, unit: "bytes" },
  "api.disk_bytes_per_registration": { value: bytesPerReg, unit: "bytes" },
  "api.health_latency_flood_p50_ms": { value: p50, unit: "ms" },
  "api.health_latency_flood_p99_ms": { value: p99, unit: "ms" },
  "api.health_latency_flood_max_ms": { value: hmax, unit: "ms" },
  "api.log_upload_1gb_peak_rss_mib": { value: upload.search_peak_mib, unit: "MiB" },
  "api.log_upload_1gb_tail_peak_rss_mib": { value: upload.tail_peak_mib, unit: "MiB" },
};
const md = `## te/ API: entity store and log upload

\`bench/api.ts\` on node ${process.version}: ${N} child registrations (retained, QoS 1) written at once as raw
MQTT on one connection to \`ledge run\` (embedded broker + api, in this process; the sender does no work
while ledge handles them); the figures count from the write until the entity store holds them all.
Health checks (\`cmd/health/check\` → \`status/health\`) are sent every 50 ms
during the flood. The peer is the previous store (one whole-file atomic rewrite with fsync per
registration), measured for ${PEER_N} registrations in the same run. RSS per entity is after GC and
includes the broker's retained registration.

${table(
  ["figure", "ledge (journal)", "peer (whole-file rewrite)", "ratio"],
  [
    [
      "registrations/s sustained",
      round(N / seconds),
      `${round(peerRate)} (first ${PEER_N} only, slower as it grows)`,
      `${round(N / seconds / peerRate)}x`,
    ],
    [
      "bytes written to disk per registration",
      round(bytesPerReg),
      `${round(peerBytesAtN)} (average over ${N})`,
      `${round(peerBytesAtN / bytesPerReg)}x less`,
    ],
    ["RSS per registered entity, bytes", round(rssPerEntity), "", ""],
    [
      "health-check latency during the flood p50 / p99 / max, ms",
      `${round(p50)} / ${round(p99)} / ${round(hmax)}`,
      "",
      "",
    ],
  ],
)}

Log upload of a 1 GiB log (${upload.baseline_mib} MiB RSS before; agent and file service in one process,
\`bench/api-log-upload.ts\`): last 1000 lines (read from the end) peak RSS ${upload.tail_peak_mib} MiB in
${upload.tail_s} s; \`searchText\` over the whole file (two streaming passes) peak RSS ${upload.search_peak_mib} MiB in
${upload.search_s} s. The previous implementation read the whole file into memory (2.1 GB RSS for 1 GB,
issue 12) and failed beyond ~2 M lines.

| figure | value |
| --- | --- |
${Object.entries(figures)
  .map(([k, v]) => `| ${k} | ${round(v.value)} ${v.unit} |`)
  .join("\n")}
`;
recordResults("api", figures, md);
console.log(md);
process.exit(0);
