/**
 * Peak RSS of log_upload on a 1 GiB log: the agent (command engine + file service) in this process,
 * the log generated in /tmp and deleted after. Prints one JSON line for bench/api.ts.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { AgentComponent } from "../src/agent/agent-component.ts";
import { EmbeddedBroker } from "../src/bus/broker.ts";
import { LocalBus } from "../src/bus/local-bus.ts";
import { loadConfig } from "../src/config/store.ts";
import { createLogger } from "../src/foundation/logger.ts";
import { freePort } from "../test/helpers/ports.ts";

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const vm = (field: "VmRSS" | "VmHWM") =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync("/proc/self/status", "utf8"))?.[1]) / 1024;
/** Resets VmHWM (peak RSS) to the current RSS, so each phase's peak is its own. */
const resetPeak = () => writeFileSync("/proc/self/clear_refs", "5");

const dir = mkdtempSync(join(tmpdir(), "ledge-bench-log-"));
const logFile = join(dir, "big.log");
// 1 GiB of syslog-like lines, one in 100,000 an ERROR
const fd = openSync(logFile, "w");
let line = 0;
for (let written = 0; written < GiB; ) {
  let block = "";
  while (block.length < MiB) {
    const t = new Date(Date.UTC(2024, 4, 1) + line * 100).toISOString();
    block += `${t} ${line % 100_000 === 0 ? "ERROR" : "INFO "} worker[42]: processed request ${line} in 3 ms\n`;
    line++;
  }
  written += writeSync(fd, block);
}
closeSync(fd);

const log = createLogger({ level: "error" });
const httpPort = await freePort();
writeFileSync(join(dir, "agent.toml"), `[[log]]\ntype = "big"\npath = "${logFile}"\n`);
const config = loadConfig(dir, {}).with({
  "data.path": join(dir, "data"),
  "http.bind.port": httpPort,
  "agent.monitor.interval_s": 0,
});
const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: 0, log });
const agent = new AgentComponent({ config, log, bus: new LocalBus(broker.core), clock: Date.now });
await agent.start();
const client = await mqtt.connectAsync({ host: "127.0.0.1", port: broker.port });
await client.subscribeAsync("te/device/main///cmd/log_upload/+");
const done = new Map<string, () => void>();
client.on("message", (topic, payload) => {
  const s = payload.length ? JSON.parse(payload.toString()).status : "";
  if (s === "successful") done.get(topic)?.();
  if (s === "failed") throw new Error(`log_upload failed: ${payload}`);
});

async function upload(id: string, extra: Record<string, unknown>): Promise<{ peak: number; s: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  resetPeak();
  const topic = `te/device/main///cmd/log_upload/${id}`;
  const finished = new Promise<void>((r) => done.set(topic, r));
  const t0 = performance.now();
  const url = `http://127.0.0.1:${httpPort}/te/v1/files/main/log_upload/${id}`;
  await client.publishAsync(topic, JSON.stringify({ status: "init", type: "big", tedgeUrl: url, ...extra }), {
    retain: true,
    qos: 1,
  });
  await finished;
  return { peak: vm("VmHWM"), s: (performance.now() - t0) / 1000 };
}

const baseline = vm("VmRSS");
const tail = await upload("tail", { lines: 1000 });
const search = await upload("search", { searchText: "error", lines: 1000 });
await client.endAsync();
await agent.stop();
await broker.stop();
rmSync(dir, { recursive: true, force: true });
const r = (v: number) => Number(v.toFixed(1));
console.log(
  JSON.stringify({
    baseline_mib: r(baseline),
    tail_peak_mib: r(tail.peak),
    tail_s: r(tail.s),
    search_peak_mib: r(search.peak),
    search_s: r(search.s),
  }),
);
process.exit(0);
