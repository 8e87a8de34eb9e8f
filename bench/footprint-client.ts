/**
 * What the MQTT client costs, the binary's pages evicted from the page cache before each start (a
 * just-built binary reads 4-5 MiB high otherwise), beside MQTT.js measured in the same run, all
 * against one mosquitto:
 * - `ledge run` (its own broker, default components) and `ledge run mqtt-mapper` (a component in
 *   its own process: ledge's client is its only MQTT code) of the x64 binary, idle, RSS and
 *   anonymous RSS, evicted and not;
 * - scripts compiled with the same Bun: an empty one, one ledge client connected, one MQTT.js client
 *   connected (what MQTT.js and its stream stack add);
 * - bytes of RSS per idle client connection: the same scripts holding 1,010 connections vs 10.
 * `node --import tsx bench/footprint-client.ts` (needs the x64 binary: `node --import tsx build.ts`).
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMosquitto } from "../test/helpers/mosquitto.ts";
import { freePort, waitFor } from "../test/helpers/ports.ts";
import {
  binaryOf,
  ensureBuilt,
  ROOT,
  startBinary,
  startCommand,
  target,
  tempConfigDir,
} from "../test/helpers/targets-bin.ts";
import { buildVariant, evict, type Mem, settled } from "./footprint-measure.ts";
import { type Figure, recordResults, round, table } from "./lib/results.ts";

const FEW = 10;
const MANY = 1010;

/** A script that opens `N` idle connections to PORT and prints `ready` once all are up. */
const CLIENT_SCRIPTS: Record<string, string> = {
  empty: "setInterval(() => {}, 1000);\nconsole.log('ready');",
  ledge: `import { MqttClient } from ${JSON.stringify(join(ROOT, "src/bus/client/client.ts"))};
const n = Number(process.env.N), port = Number(process.env.PORT), keep = [];
for (let i = 0; i < n; i++) {
  const c = new MqttClient({ host: "127.0.0.1", port, clientId: "l" + process.pid + "-" + i, keepaliveS: 60 });
  await c.start(30000);
  keep.push(c);
}
console.log("ready");`,
  mqttjs: `import mqtt from "mqtt";
const n = Number(process.env.N), port = Number(process.env.PORT), keep = [];
for (let i = 0; i < n; i++)
  keep.push(await mqtt.connectAsync({ host: "127.0.0.1", port, clientId: "m" + process.pid + "-" + i, keepalive: 60 }));
console.log("ready");`,
};

function compile(name: string): string {
  const src = join(ROOT, "dist/.build", `client-${name}.mjs`);
  writeFileSync(src, `${CLIENT_SCRIPTS[name]}\n`);
  return buildVariant(`client-${name}`, ["--bytecode", "--format=esm"], src);
}

async function scriptMem(bin: string, port: number, n: number): Promise<Mem> {
  evict(bin);
  const d = startCommand(bin, [], { ...process.env, N: String(n), PORT: String(port) });
  try {
    await waitFor("connections up", () => d.output().includes("ready") || undefined, 60_000, 50);
    return await settled(d);
  } finally {
    await d.stop();
  }
}

async function main(): Promise<void> {
  ensureBuilt(["linux-x64"]);
  const mosq = await startMosquitto(["max_connections -1"]);
  const rows: (string | number)[][] = [];
  const figures: Record<string, Figure> = {};
  const fig = (value: number, unit: string): Figure => ({ value, unit });
  try {
    // `ledge run` with its own broker (default components), and a component in its own process
    // (`ledge run mqtt-mapper` on mosquitto: ledge's client is its only MQTT code)
    const x64 = target("linux-x64");
    const bin = binaryOf(x64);
    const measured: Record<string, Mem> = {};
    for (const what of ["run", "component"] as const)
      for (const mode of ["cached", "evicted"] as const) {
        const cfg = tempConfigDir(what === "run" ? await freePort() : mosq.port);
        if (what === "component")
          appendFileSync(join(cfg.dir, "ledge.toml"), `[mqtt]\nbroker = "external"\n`);
        if (mode === "evicted") evict(bin);
        else spawnSync("cat", [bin], { stdio: "ignore" });
        const args = what === "run" ? ["run"] : ["run", "mqtt-mapper"];
        const d = startBinary(x64, ["--config-dir", cfg.dir, ...args]);
        try {
          await waitFor("running", () => /ledge running/.test(d.output()) || undefined, 30_000);
          measured[`${what}-${mode}`] = await settled(d);
        } finally {
          await d.stop();
          cfg.cleanup();
        }
        const m = measured[`${what}-${mode}`] as Mem;
        rows.push([`ledge ${args.join(" ")} (x64), binary pages ${mode}`, round(m.rss), round(m.anon)]);
      }
    const m = (k: string) => measured[k] as Mem;
    figures["footprint.run_rss_idle_evicted_mib"] = fig(m("run-evicted").rss, "MiB");
    figures["footprint.run_rss_anon_idle_evicted_mib"] = fig(m("run-evicted").anon, "MiB");
    figures["footprint.component_rss_idle_mib"] = fig(m("component-evicted").rss, "MiB");
    figures["footprint.component_rss_anon_idle_mib"] = fig(m("component-evicted").anon, "MiB");
    figures["footprint.component_rss_idle_cached_mib"] = fig(m("component-cached").rss, "MiB");

    const conn: Record<string, number> = {};
    for (const name of ["empty", "ledge", "mqttjs"]) {
      const b = compile(name);
      const one = await scriptMem(b, mosq.port, name === "empty" ? 0 : 1);
      rows.push([
        `Bun script: ${name === "empty" ? "empty" : `1 ${name} client connected`}`,
        round(one.rss),
        round(one.anon),
      ]);
      figures[`footprint.client_${name}_rss_mib`] = fig(one.rss, "MiB");
      figures[`footprint.client_${name}_rss_anon_mib`] = fig(one.anon, "MiB");
      if (name === "empty") continue;
      const few = await scriptMem(b, mosq.port, FEW);
      const many = await scriptMem(b, mosq.port, MANY);
      conn[name] = ((many.rss - few.rss) * 1024 * 1024) / (MANY - FEW);
      figures[`footprint.client_${name}_conn_bytes`] = fig(conn[name] as number, "B");
      process.stdout.write(`${name}: ${JSON.stringify({ one, few, many })}\n`);
    }
    figures["footprint.client_conn_ratio_vs_mqttjs"] = fig(
      (conn.ledge as number) / (conn.mqttjs as number),
      "x",
    );
    const md = [
      "## Footprint: the MQTT client (`bench/footprint-client.ts`)",
      "",
      "Idle RSS, binary pages evicted from the page cache before each start unless marked cached; " +
        "against one mosquitto. The Bun scripts are compiled with the binaries' Bun (`--bytecode`).",
      "",
      table(["process", "RSS MiB", "anonymous MiB"], rows),
      "",
      `RSS per idle client connection (${MANY} vs ${FEW} connections in one process): ledge's client ` +
        `${round(conn.ledge as number)} B, MQTT.js ${round(conn.mqttjs as number)} B ` +
        `(${round((conn.ledge as number) / (conn.mqttjs as number))}x).`,
    ].join("\n");
    recordResults("footprint-client", figures, md);
    process.stdout.write(`${md}\n`);
  } finally {
    await mosq.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
