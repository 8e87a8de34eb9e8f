/**
 * Agent figures: te/ command round trip (init → successful, software_list with a trivial plugin,
 * embedded broker, measured by an MQTT client) and file transfer service throughput (PUT/GET of a
 * 64 MiB file over loopback), plus the RSS they cost.
 */
import { execFile } from "node:child_process";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { AgentComponent } from "../src/agent/agent-component.ts";
import { EmbeddedBroker } from "../src/bus/broker.ts";
import { LocalBus } from "../src/bus/local-bus.ts";
import { loadConfig } from "../src/config/store.ts";
import { createLogger } from "../src/foundation/logger.ts";
import { freePort } from "../test/helpers/ports.ts";
import { recordResults, round, table } from "./lib/results.ts";

const ROUNDS = 50;
const FILE_MIB = 64;

const dir = mkdtempSync(join(tmpdir(), "ledge-bench-agent-"));
mkdirSync(join(dir, "plugins"));
writeFileSync(join(dir, "plugins/fake"), "#!/bin/sh\n[ \"$1\" = list ] && printf 'a\\t1\\n'\nexit 0\n");
chmodSync(join(dir, "plugins/fake"), 0o755);
const log = createLogger({ level: "error" });
const httpPort = await freePort();
const config = loadConfig(dir, {}).with({
  "data.path": join(dir, "data"),
  "http.bind.port": httpPort,
  "agent.sm_plugins_dir": join(dir, "plugins"),
  "agent.monitor.interval_s": 0,
  "agent.file_transfer.max_bytes": (FILE_MIB + 1) * 1024 * 1024,
});
const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: 0, log });
const agent = new AgentComponent({ config, log, bus: new LocalBus(broker.core), clock: Date.now });
const rssBefore = process.memoryUsage().rss;
await agent.start();
const client = await mqtt.connectAsync({ host: "127.0.0.1", port: broker.port });
await client.subscribeAsync("te/device/main///cmd/software_list/+");
const waiters = new Map<string, () => void>();
client.on("message", (topic, payload) => {
  if (payload.length && JSON.parse(payload.toString()).status === "successful") waiters.get(topic)?.();
});

const latencies: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const topic = `te/device/main///cmd/software_list/b${i}`;
  const done = new Promise<void>((r) => waiters.set(topic, r));
  const t0 = performance.now();
  await client.publishAsync(topic, JSON.stringify({ status: "init" }), { retain: true, qos: 1 });
  await done;
  latencies.push(performance.now() - t0);
  await client.publishAsync(topic, "", { retain: true, qos: 1 });
}
latencies.sort((a, b) => a - b);
const p50 = latencies[Math.floor(ROUNDS / 2)]!;
const p95 = latencies[Math.floor(ROUNDS * 0.95)]!;

// curl as the client, so the figures (and the RSS) are the server's alone.
const blob = join(dir, "blob");
const mib = Buffer.alloc(1024 * 1024, 7);
writeFileSync(blob, "");
for (let i = 0; i < FILE_MIB; i++) appendFileSync(blob, mib);
const url = `http://127.0.0.1:${httpPort}/te/v1/files/bench/blob`;
const curl = async (args: string[]) => {
  const t = performance.now();
  const out = await new Promise<string>((resolve, reject) =>
    execFile("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", ...args, url], (e, o) =>
      e ? reject(e) : resolve(o),
    ),
  );
  return { code: out, s: (performance.now() - t) / 1000 };
};
const put = await curl(["-T", blob]);
if (put.code !== "201") throw new Error(`PUT ${put.code}`);
const putMiBs = FILE_MIB / put.s;
const get = await curl([]);
if (get.code !== "200") throw new Error(`GET ${get.code}`);
const getMiBs = FILE_MIB / get.s;
const rssAfter = process.memoryUsage().rss;

await client.endAsync();
await agent.stop();
await broker.stop();
rmSync(dir, { recursive: true, force: true });

const figures = {
  "agent.command_roundtrip_p50_ms": { value: p50, unit: "ms" },
  "agent.command_roundtrip_p95_ms": { value: p95, unit: "ms" },
  "agent.file_put_mib_s": { value: putMiBs, unit: "MiB/s" },
  "agent.file_get_mib_s": { value: getMiBs, unit: "MiB/s" },
  "agent.rss_delta_mib": { value: (rssAfter - rssBefore) / 1048576, unit: "MiB" },
};
recordResults(
  "agent",
  figures,
  `## Agent

Command round trip: \`software_list\` init → successful through the embedded broker, measured by an
MQTT client, ${ROUNDS} rounds (includes spawning the plugin). File transfer: one ${FILE_MIB} MiB PUT
(streamed to a temp file, fsync, rename) and GET over loopback. curl is the HTTP client, so the RSS delta is the agent's
(after start, 50 commands and both transfers).

${table(
  ["figure", "value"],
  Object.entries(figures).map(([k, v]) => [k, `${round(v.value)} ${v.unit}`]),
)}
`,
);
console.log(figures);
