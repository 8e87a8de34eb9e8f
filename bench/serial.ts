/**
 * Serial sensor driver throughput: lines written into a socat pty pair → parsed → Thin Edge JSON
 * measurements delivered on the in-process bus, for the Node transport (serialport) and the Bun
 * transport (termios via bun:ffi; the same file re-run under `bun` with --child), plus the pure
 * parsers alone. The pty is not rate-limited, so this is the driver's ceiling, far above any real
 * serial line (115200 baud ≈ 11 kB/s ≈ 450 lines/s of 25 bytes).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPtyPair } from "../hw-test/serial/pty-pair.ts";
import { sds011Frame, VE_FIELDS, veBlock } from "../hw-test/serial/sensor-emulator.ts";
import { EmbeddedBroker } from "../src/bus/broker.ts";
import { LocalBus } from "../src/bus/local-bus.ts";
import { loadConfig } from "../src/config/store.ts";
import { openSerial } from "../src/drivers/common/serial/open.ts";
import { createSerialComponent } from "../src/drivers/serial/component.ts";
import { buildDecoder } from "../src/drivers/serial/decoder.ts";
import { buildParser, type ParserConfig } from "../src/drivers/serial/parsers/index.ts";
import { nmeaChecksum } from "../src/drivers/serial/parsers/nmea.ts";
import { createLogger } from "../src/foundation/logger.ts";
import { recordResults, table } from "./lib/results.ts";

const LINES = 20_000;
const here = dirname(fileURLToPath(import.meta.url));

interface DriverFigures {
  runtime: string;
  lines_per_s: number;
  rss_mib: number;
}

async function driverThroughput(): Promise<DriverFigures> {
  const log = createLogger({ level: "error" });
  const dir = mkdtempSync(join(tmpdir(), "ledge-bench-serial-"));
  const pair = await createPtyPair(mkdtempSync(join(dir, "pty-")));
  const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: 0, log });
  const bus = new LocalBus(broker.core);
  writeFileSync(
    join(dir, "serial.toml"),
    `[[device]]\nname = "bench"\nport = "${pair.a}"\nbaud = 115200\nparser = "kv"\nmeasurement = "env"\n`,
  );
  const config = loadConfig(dir, { LEDGE_SERIAL_STATS_INTERVAL_S: "0" });
  const component = createSerialComponent({ config, log, bus, clock: Date.now });
  let got = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  await bus.subscribe("te/device/bench///m/env", () => {
    if (++got === LINES) done();
  });
  await component.start();
  const lines = Array.from(
    { length: LINES },
    (_, i) => `t=${(20 + (i % 100) / 10).toFixed(1)} h=40 p=1013.25\n`,
  );
  const t0 = performance.now();
  // the writer is ledge's own (async) transport on the other end: a blocking write from this
  // process would stall the event loop that drains the pty
  const writer = await openSerial({ path: pair.b, baudRate: 115200 });
  const blob = Buffer.from(lines.join(""));
  for (let off = 0; off < blob.length; off += 4096) await writer.write(blob.subarray(off, off + 4096));
  await all;
  const s = (performance.now() - t0) / 1000;
  const rss = process.memoryUsage().rss / 1048576;
  await writer.close();
  await component.stop();
  await broker.stop();
  await pair.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    runtime: process.versions.bun ? `bun ${process.versions.bun}` : `node ${process.version}`,
    lines_per_s: LINES / s,
    rss_mib: rss,
  };
}

function parserThroughput(): Record<string, number> {
  const gga = "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,";
  const cases = {
    regex: [
      buildParser({ kind: "regex", pattern: "^T:(?<temperature>-?[\\d.]+) H:(?<humidity>[\\d.]+)$" }),
      "T:21.5 H:40",
    ],
    kv: [buildParser({ kind: "kv" }), "t=21.5 h=40 p=1013.25"],
    json: [buildParser({ kind: "json" }), '{"temperature":21.5,"humidity":40,"env":{"p":1013.25}}'],
    nmea: [buildParser({ kind: "nmea", requireChecksum: true }), `$${gga}*${nmeaChecksum(gga)}`],
  } as const;
  const out: Record<string, number> = {};
  for (const [name, [parse, line]] of Object.entries(cases)) {
    for (let i = 0; i < 20_000; i++) parse(line); // warm up
    const n = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) parse(line);
    out[name] = n / ((performance.now() - t0) / 1000);
  }
  return out;
}

/**
 * Framing and parsing together, as the driver runs them (issue 15's parsers): a burst of frames fed
 * in 4 KiB chunks through `buildDecoder`, frames decoded per second.
 */
function decoderThroughput(): Record<string, number> {
  const gga = "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,";
  const pmtk = "PMTK010,001";
  const cases: [string, ParserConfig, Buffer][] = [
    [
      "regex",
      { kind: "regex", pattern: "^T:(?<temperature>-?[\\d.]+) H:(?<humidity>[\\d.]+)$" },
      Buffer.from("T:21.5 H:40\n"),
    ],
    ["kv", { kind: "kv" }, Buffer.from("t=21.5 h=40 p=1013.25\n")],
    ["json", { kind: "json" }, Buffer.from('{"temperature":21.5,"humidity":40,"env":{"p":1013.25}}\n')],
    [
      "json_multiline",
      { kind: "json", deviceTime: true },
      Buffer.from('{\n  "time": 1351824120,\n  "data": [48.75, 2.30],\n  "env": {\n    "t": 21.5\n  }\n}\n'),
    ],
    [
      "nmea",
      { kind: "nmea", requireChecksum: true, deviceTime: true },
      Buffer.from(`$${gga}*${nmeaChecksum(gga)}\r\n`),
    ],
    [
      "nmea_proprietary",
      { kind: "nmea", requireChecksum: true },
      Buffer.from(`$${pmtk}*${nmeaChecksum(pmtk)}\r\n`),
    ],
    ["vedirect", { kind: "vedirect" }, veBlock(VE_FIELDS)],
    ["sds011", { kind: "sds011" }, sds011Frame(12.3, 45.6)],
  ];
  const out: Record<string, number> = {};
  for (const [name, cfg, frame] of cases) {
    const n = 100_000;
    const burst = Buffer.concat(Array.from({ length: n }, () => frame));
    const run = () => {
      const d = buildDecoder(cfg, 1024);
      let got = 0;
      for (let off = 0; off < burst.length; off += 4096)
        d.push(burst.subarray(off, off + 4096), 0, (e) => {
          if (e.result.ok) got++;
        });
      if (got !== n) throw new Error(`${name}: ${got} of ${n} frames decoded`);
    };
    run(); // warm up
    const t0 = performance.now();
    run();
    out[name] = n / ((performance.now() - t0) / 1000);
  }
  return out;
}

async function main(): Promise<void> {
  if (process.argv.includes("--child")) {
    console.log(JSON.stringify(await driverThroughput()));
    process.exit(0);
  }
  const node = await driverThroughput();
  const bunRun = spawnSync(
    join(here, "..", "node_modules", ".bin", "bun"),
    [fileURLToPath(import.meta.url), "--child"],
    {
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  const bunLine = bunRun.stdout?.split("\n").find((l) => l.startsWith("{"));
  const bun = bunLine ? (JSON.parse(bunLine) as DriverFigures) : undefined;
  if (!bun) process.stderr.write(`bun run failed: ${bunRun.stderr}\n`);
  const parsers = parserThroughput();
  const decoders = decoderThroughput();
  const figures: Record<string, { value: number; unit: string }> = {
    "serial.node_lines_per_s": { value: node.lines_per_s, unit: "lines/s" },
    "serial.node_rss_mib": { value: node.rss_mib, unit: "MiB" },
  };
  if (bun) {
    figures["serial.bun_lines_per_s"] = { value: bun.lines_per_s, unit: "lines/s" };
    figures["serial.bun_rss_mib"] = { value: bun.rss_mib, unit: "MiB" };
  }
  for (const [k, v] of Object.entries(parsers))
    figures[`serial.parse_${k}_per_s`] = { value: v, unit: "lines/s" };
  for (const [k, v] of Object.entries(decoders))
    figures[`serial.decode_${k}_per_s`] = { value: v, unit: "frames/s" };
  const rows = [node, ...(bun ? [bun] : [])].map((f) => [
    f.runtime,
    Math.round(f.lines_per_s),
    f.rss_mib.toFixed(1),
  ]);
  const md = `## Serial sensors (bench/serial.ts)

${LINES} \`key=value\` lines written into a socat pty pair as fast as the pty takes them; time until
the last one is a measurement on the in-process bus (\`te/device/bench///m/env\`). RSS is the whole
process (broker included) at the end.

${table(["runtime (transport)", "lines/s", "RSS MiB"], rows)}

Parsers alone (one line, ${process.version}):

${table(
  ["parser", "lines/s"],
  Object.entries(parsers).map(([k, v]) => [k, Math.round(v)]),
)}

Load average when this ran: ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores (the machine is shared: absolute figures move with it; compare rows of one run).

Framing and parsing together (\`buildDecoder\`, what the driver runs per port): 100,000 frames fed in
4 KiB chunks; lines for regex/kv/nmea, balanced braces for json (one line, and a pretty-printed
document with a device time and an array), VE.Direct blocks (9 fields and the block checksum),
SDS011 binary frames (start bytes, length, checksum). Frames decoded per second (${process.version}):

${table(
  ["parser (framing)", "frames/s"],
  Object.entries(decoders).map(([k, v]) => [k, Math.round(v)]),
)}
`;
  recordResults("serial", figures, md);
  console.log(md);
}

await main();
