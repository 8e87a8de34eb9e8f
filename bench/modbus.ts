/**
 * Modbus benchmark, against one independent slave (pymodbus, hw-test/modbus/slave.py) on loopback:
 * - polls/s and registers/s of ledge's Modbus TCP driver (the real `modbus` component with its
 *   queue, codecs and bus publishing) polling 50 unit ids for 10 holding registers each, as fast as
 *   the line allows, beside `mbpoll` (Debian) doing the same reads (`-a 1:50 -r 1 -c 10`) in the same
 *   run, rounds alternated so both see the same slave;
 * - RSS of a whole ledge process (`run broker modbus`, the x64 binary, and the Node bundle) polling
 *   50 TCP devices every second, beside the same process without the modbus component.
 * `DURATION_S=4 node --import tsx bench/modbus.ts` for a quick look.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { startSlave } from "../test/helpers/modbus-slave.ts";
import { freePort, waitFor } from "../test/helpers/ports.ts";
import {
  binaryOf,
  cleanEnv,
  ROOT,
  startCommand,
  target,
  tempConfigDir,
} from "../test/helpers/targets-bin.ts";
import { measurePolls, tcpUnitsToml } from "./lib/modbus-polls.ts";
import { type Figure, recordResults, round, table } from "./lib/results.ts";

const DURATION_S = Number(process.env.DURATION_S ?? 8);
const ROUNDS = 2;
const UNITS = 50;
const REGS = 10;
const RSS_WARMUP_S = Number(process.env.RSS_WARMUP_S ?? 15);
const RSS_SAMPLE_S = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const units = Array.from({ length: UNITS }, (_, i) => i + 1);

function devicesToml(port: number, interval: number, count = UNITS): string {
  return tcpUnitsToml(port, count, interval, REGS);
}

/** ledge's driver in this process, every device due every 10 ms: polls completed per second. */
async function ledgePolls(port: number): Promise<number> {
  return (await measurePolls(devicesToml(port, 0.01), DURATION_S)).pollsPerS;
}

const MBPOLL_ARGS = (port: number) => [
  "-m",
  "tcp",
  "-p",
  String(port),
  "-a",
  `1:${UNITS}`,
  "-r",
  "1",
  "-c",
  String(REGS),
  "-t",
  "4",
  "-o",
  "1",
];

/** Counts mbpoll's "-- Polling slave N..." lines (one per unit read) on a stream. */
function countPolls(proc: ReturnType<typeof spawn>, onPoll: () => void): void {
  let tail = "";
  proc.stdout?.on("data", (d: Buffer) => {
    const lines = (tail + d.toString()).split("\n");
    tail = lines.pop() ?? "";
    for (const l of lines) if (l.startsWith("-- Polling slave")) onPoll();
  });
}

/**
 * mbpoll reading the same registers of the same 50 units. Its continuous mode waits at least 10 ms
 * after every read (`-l` has a 10 ms floor), so its best rate comes from one-shot runs (`-1`: the 50
 * units once, one connection) started back to back; both are measured.
 */
async function mbpollPolls(port: number, mode: "oneshot" | "continuous"): Promise<number> {
  let polls = 0;
  const t0 = performance.now();
  const end = t0 + DURATION_S * 1000;
  if (mode === "continuous") {
    const proc = spawn("mbpoll", [...MBPOLL_ARGS(port), "-l", "10", "127.0.0.1"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    countPolls(proc, () => polls++);
    await sleep(DURATION_S * 1000);
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
  } else {
    while (performance.now() < end) {
      const proc = spawn("mbpoll", [...MBPOLL_ARGS(port), "-1", "127.0.0.1"], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      countPolls(proc, () => polls++);
      await new Promise((r) => proc.once("close", r));
    }
  }
  return polls / ((performance.now() - t0) / 1000);
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024;
}

interface RssResult {
  withModbus: number;
  oneDevice: number;
  growth: number;
  idle: number;
  pollsPerS: number;
}

/** A whole ledge process polling 50 TCP devices every second; RSS after warm-up, and its growth. */
async function rssOf(label: string, cmd: string, pre: string[], slavePort: number): Promise<RssResult> {
  const measure = async (withModbus: boolean, count = UNITS) => {
    const p = await freePort();
    const c = tempConfigDir(p);
    writeFileSync(join(c.dir, "modbus.toml"), devicesToml(slavePort, 1, count));
    const d = startCommand(
      cmd,
      [...pre, "--config-dir", c.dir, "run", "broker", ...(withModbus ? ["modbus"] : [])],
      cleanEnv({ HOME: c.dir, LEDGE_LOG_LEVEL: "warn" }),
    );
    let polls = 0;
    const client = await waitFor(
      `${label} broker`,
      async () => {
        try {
          return await mqtt.connectAsync({ host: "127.0.0.1", port: p, reconnectPeriod: 0 });
        } catch {
          return undefined;
        }
      },
      30_000,
      100,
    );
    client.on("message", () => polls++);
    await client.subscribeAsync("te/device/+///m/+");
    await sleep(RSS_WARMUP_S * 1000);
    const pid = d.proc.pid!;
    const first = rssMiB(pid);
    const p0 = polls;
    const samples: number[] = [];
    for (let i = 0; i < RSS_SAMPLE_S; i++) {
      await sleep(1000);
      samples.push(rssMiB(pid));
    }
    const pollsPerS = (polls - p0) / RSS_SAMPLE_S;
    await client.endAsync();
    await d.stop();
    c.cleanup();
    return { rss: Math.max(...samples), growth: samples.at(-1)! - first, pollsPerS };
  };
  const idle = await measure(false);
  const one = await measure(true, 1);
  const busy = await measure(true);
  return {
    withModbus: busy.rss,
    oneDevice: one.rss,
    growth: busy.growth,
    idle: idle.rss,
    pollsPerS: busy.pollsPerS,
  };
}

async function main(): Promise<void> {
  const slave = await startSlave({ tcp: true, units });
  const port = slave.tcpPort!;
  try {
    const ledge: number[] = [];
    const mbpoll: number[] = [];
    const mbpollL: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      mbpoll.push(await mbpollPolls(port, "oneshot"));
      ledge.push(await ledgePolls(port));
      mbpollL.push(await mbpollPolls(port, "continuous"));
      process.stdout.write(
        `round ${r + 1}: mbpoll ${round(mbpoll.at(-1)!)} polls/s (-l 10: ${round(mbpollL.at(-1)!)}), ledge ${round(ledge.at(-1)!)} polls/s\n`,
      );
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const lp = mean(ledge);
    const mp = mean(mbpoll);
    const ml = mean(mbpollL);

    const rss: [string, RssResult][] = [];
    const x64 = binaryOf(target("linux-x64"));
    if (existsSync(x64)) rss.push(["x64 binary (Bun)", await rssOf("x64", x64, [], port)]);
    const bundle = join(ROOT, "dist", "ledge.mjs");
    if (existsSync(bundle))
      rss.push(["Node bundle (dist/ledge.mjs)", await rssOf("node", process.execPath, [bundle], port)]);
    if (!rss.length) throw new Error("no dist/ledge-linux-x64 or dist/ledge.mjs: npm run build first");
    for (const [l, r] of rss)
      process.stdout.write(
        `${l}: ${round(r.withModbus)} MiB with 50 devices, ${round(r.idle)} MiB without\n`,
      );
    const main = rss[0]![1];

    const figures: Record<string, Figure> = {
      "modbus.polls_per_s": { value: lp, unit: "polls/s" },
      "modbus.registers_per_s": { value: lp * REGS, unit: "registers/s" },
      "modbus.mbpoll_polls_per_s": { value: mp, unit: "polls/s" },
      "modbus.mbpoll_registers_per_s": { value: mp * REGS, unit: "registers/s" },
      "modbus.rss_50_devices_mib": { value: main.withModbus, unit: "MiB" },
      "modbus.rss_without_modbus_mib": { value: main.idle, unit: "MiB" },
      "modbus.rss_1_device_mib": { value: main.oneDevice, unit: "MiB" },
    };
    const md = `## Modbus

Modbus TCP against one pymodbus slave (\`hw-test/modbus/slave.py\`, Debian python3-pymodbus) on
loopback: 50 unit ids, 10 holding registers each (one request per poll), polled back to back over one
connection. ledge is its real \`modbus\` component (queue, codecs, Thin Edge JSON published on its
in-process bus) with every device due every 10 ms; \`mbpoll -a 1:50 -r 1 -c 10 -1\` does the same
reads, one run after the other (each run: one connection, the 50 units once). mbpoll's continuous
mode (\`-l 10\`, its floor) waits 10 ms after every read, so it is shown but not the reference.
${ROUNDS} alternated rounds of ${DURATION_S} s, mean. Both read one request at a time, so the rate is
set by the round trip through the Python slave plus each client's own cost per request.

${table(
  ["", "polls/s", "registers/s", "ledge / mbpoll"],
  [
    ["ledge modbus driver", round(lp), round(lp * REGS), `${round(lp / mp)}×`],
    ["mbpoll -1, back to back", round(mp), round(mp * REGS), "1×"],
    ["mbpoll -l 10 (continuous)", round(ml), round(ml * REGS), `${round(ml / mp)}×`],
  ],
)}

RSS of a whole \`ledge run broker modbus\` process polling 50 TCP devices (10 points each) every
second, after ${RSS_WARMUP_S} s, max of ${RSS_SAMPLE_S} samples, beside the same process polling one
device and without the modbus component (the difference is mostly the code the component loads:
modbus-serial, the serial transport); growth is the change over the ${RSS_SAMPLE_S} s of samples.

${table(
  [
    "runtime",
    "RSS, 50 devices (MiB)",
    "RSS, 1 device (MiB)",
    "RSS without modbus (MiB)",
    "50 devices − 1 device (MiB)",
    "growth (MiB)",
    "polls/s seen",
  ],
  rss.map(([l, r]) => [
    l,
    round(r.withModbus),
    round(r.oneDevice),
    round(r.idle),
    round(r.withModbus - r.oneDevice),
    round(r.growth),
    round(r.pollsPerS),
  ]),
)}
`;
    recordResults("modbus", figures, md);
    process.stdout.write(md);
  } finally {
    await slave.stop();
  }
}

await main();
