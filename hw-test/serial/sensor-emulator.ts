/**
 * A serial sensor emulator: writes lines (good ones, corrupt ones, NMEA with wrong checksums,
 * garbage bytes) into a tty, e.g. one end of a socat pty pair or a real adapter wired to the gateway.
 *
 * As a library: `scenario(format)` is a fixed script with the expected outcome (readings, bad lines),
 * `play(path, steps)` writes it. As a program (Node or Bun):
 *   node --import tsx hw-test/serial/sensor-emulator.ts --port /dev/ttyUSB1 --format nmea \
 *     [--baud 9600] [--interval-ms 200] [--count 100] [--no-faults]
 * prints `{"good":n,"bad":n}` at the end.
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type Format =
  | "kv"
  | "json"
  | "nmea"
  | "regex"
  | "nmea-proprietary"
  | "nmea-gps-time"
  | "json-multiline"
  | "sds011"
  | "vedirect";
export const FORMATS: readonly Format[] = [
  "kv",
  "json",
  "nmea",
  "regex",
  "nmea-proprietary",
  "nmea-gps-time",
  "json-multiline",
  "sds011",
  "vedirect",
];

/** The regex used with `--format regex` (and in the driver tests). */
export const REGEX_PATTERN = "^T:(?<temperature>-?\\d+(?:\\.\\d+)?) H:(?<humidity>\\d+(?:\\.\\d+)?)$";

/** The serial.toml parser keys each format needs (beside name and port). */
export const FORMAT_PARSER: Record<Format, string> = {
  kv: 'parser = "kv"',
  json: 'parser = "json"',
  nmea: 'parser = "nmea"',
  regex: `parser = "regex"\npattern = '${REGEX_PATTERN}'`,
  "nmea-proprietary": 'parser = "nmea"',
  "nmea-gps-time": 'parser = "nmea"\ntime_source = "device"',
  "json-multiline": 'parser = "json"\ntime_source = "device"',
  sds011: 'parser = "sds011"',
  vedirect: 'parser = "vedirect"',
};

export interface Step {
  bytes: Buffer;
  /** good: one reading; bad: one bad line; ignored: a valid line without a reading (or blank). */
  kind: "good" | "bad" | "ignored";
  /** For good steps: the Thin Edge JSON values the driver must publish (without `time`). */
  values?: Record<string, unknown>;
  /** For good steps with a device time: the `time` the driver must publish. */
  time?: string;
}

/** A VE.Direct text block with its checksum byte (the block's bytes sum to 0 mod 256). */
export function veBlock(fields: [string, string][], corrupt = false): Buffer {
  const body = Buffer.from(`${fields.map(([k, v]) => `\r\n${k}\t${v}`).join("")}\r\nChecksum\t`, "latin1");
  let sum = 0;
  for (const b of body) sum = (sum + b) & 0xff;
  return Buffer.concat([body, Buffer.from([((256 - sum) & 0xff) ^ (corrupt ? 1 : 0)])]);
}

/** An SDS011 data frame (PM2.5 and PM10 in µg/m³, device id 0x3412). */
export function sds011Frame(pm25: number, pm10: number, corrupt = false): Buffer {
  const f = Buffer.from([0xaa, 0xc0, 0, 0, 0, 0, 0x12, 0x34, 0, 0xab]);
  f.writeUInt16LE(Math.round(pm25 * 10), 2);
  f.writeUInt16LE(Math.round(pm10 * 10), 4);
  let sum = 0;
  for (let i = 2; i <= 7; i++) sum = (sum + (f[i] ?? 0)) & 0xff;
  f[8] = sum ^ (corrupt ? 0x40 : 0);
  return f;
}

/** A VE.Direct MPPT charger block, and what the driver publishes for it. */
export const VE_FIELDS: [string, string][] = [
  ["PID", "0xA053"],
  ["FW", "159"],
  ["SER#", "HQ1328A1B2C"],
  ["V", "12800"],
  ["I", "-3000"],
  ["VPV", "37000"],
  ["PPV", "0"],
  ["CS", "0"],
  ["LOAD", "ON"],
];
export const VE_VALUES = { FW: 159, V: 12800, I: -3000, VPV: 37000, PPV: 0, CS: 0, LOAD: 1 };

function nmea(body: string, corrupt = false): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
  if (corrupt) x ^= 0x01;
  return `$${body}*${x.toString(16).toUpperCase().padStart(2, "0")}\r\n`;
}

/** Bytes without a line end, longer than any max_line: garbage on the line (noise, wrong baud). */
export function garbage(n: number, seed = 7): Buffer {
  const b = Buffer.alloc(n);
  let v = seed;
  for (let i = 0; i < n; i++) {
    v = (v * 1103515245 + 12345) >>> 0;
    let byte = (v >>> 16) & 0xff;
    if (byte === 0x0a || byte === 0x0d) byte = 0x00;
    b[i] = byte;
  }
  return b;
}

const good = (line: string, values: Record<string, unknown>): Step => ({
  bytes: Buffer.from(line),
  kind: "good",
  values,
});
const bad = (bytes: string | Buffer): Step => ({
  bytes: typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes,
  kind: "bad",
});
const ignored = (line: string): Step => ({ bytes: Buffer.from(line), kind: "ignored" });

/** A fixed script per format: good lines interleaved with every fault the driver must survive. */
export function scenario(format: Format): Step[] {
  const noise = Buffer.concat([garbage(3000), Buffer.from("\n")]);
  switch (format) {
    case "kv":
      return [
        good("t=21.5 h=40.2\n", { t: 21.5, h: 40.2 }),
        bad("t=abc h=\n"),
        good("t=-3 h=55 status=ok\r\n", { t: -3, h: 55 }),
        bad(Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x0a])),
        ignored("\n"),
        bad(noise),
        good("env.t=1.25,env.h=2\n", { env: { t: 1.25, h: 2 } }),
      ];
    case "json":
      return [
        good('{"temperature":21.5,"humidity":40}\n', { temperature: 21.5, humidity: 40 }),
        bad('{"temperature":21.5,\n'),
        good('{"env":{"t":1,"h":2},"label":"x"}\n', { env: { t: 1, h: 2 } }),
        bad(Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x0a])),
        bad(noise),
        good('{"v":0.5}\n', { v: 0.5 }),
      ];
    case "nmea":
      return [
        good(nmea("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), {
          position: { latitude: 48.1173, longitude: 11.5166667, altitude: 545.4 },
          satellites: 8,
        }),
        bad(nmea("GPGGA,123520,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", true)),
        good(nmea("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"), {
          position: { latitude: 48.1173, longitude: 11.5166667 },
          speed: 11.524,
          course: 84.4,
        }),
        ignored(nmea("GPGSV,2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45")),
        ignored(nmea("GPRMC,123521,V,,,,,,,230394,,")),
        bad("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,\r\n"),
        bad(noise),
        good(nmea("GNGGA,000001,3342.6618,S,15112.8901,W,2,12,1.0,10.0,M,0,M,,"), {
          position: { latitude: -33.71103, longitude: -151.214835, altitude: 10 },
          satellites: 12,
        }),
      ];
    case "regex":
      return [
        good("T:21.5 H:40\n", { temperature: 21.5, humidity: 40 }),
        bad("T:xx H:40\n"),
        bad(noise),
        good("T:-2 H:99.5\n", { temperature: -2, humidity: 99.5 }),
      ];
    case "nmea-proprietary":
      // what MediaTek, SiRF, Garmin, Trimble and Kenwood receivers send beside the standard sentences
      return [
        ...["PMTK010,001", "PMTKCHN,0,0,0", "PSRFEPE,100542.000,A,0.7,6.82,10.69,0.0,180.0", "PFST,FIRSTFIX"]
          .concat([
            "PKWDWPL,150803,V,4237.14,N,07120.83,W,,,200316,,AC7FD-1,/-",
            "PMGNST,02.12,3,T,534,05.0,+03327,00",
          ])
          .concat(["PSRF100,0,9600,8,1,0", "PTNLDG,44.0,33.0,287.0,100,0,4,1,0,,"])
          .map((b) => ignored(nmea(b))),
        ignored(nmea("GPRMC,235947.000,,,,,,,,,,")),
        bad(nmea("PMTK010,001", true)),
        good(nmea("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), {
          position: { latitude: 48.1173, longitude: 11.5166667, altitude: 545.4 },
          satellites: 8,
        }),
      ];
    case "nmea-gps-time":
      // a buffered receiver: fixes from 2012, dated by RMC, a GGA after midnight by the last RMC
      return [
        {
          ...good(nmea("GPRMC,235959,A,4807.038,N,01131.000,E,0.0,0.0,021112,,"), {
            position: { latitude: 48.1173, longitude: 11.5166667 },
            speed: 0,
            course: 0,
          }),
          time: "2012-11-02T23:59:59.000Z",
        },
        bad(nmea("GPRMC,000000,A,4807.038,N,01131.000,E,0.0,0.0,031112,,", true)),
        {
          ...good(nmea("GPGGA,000001.5,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), {
            position: { latitude: 48.1173, longitude: 11.5166667, altitude: 545.4 },
            satellites: 8,
          }),
          time: "2012-11-03T00:00:01.500Z",
        },
      ];
    case "json-multiline":
      return [
        {
          ...good('{\n  "sensor": "gps",\n  "time": 1351824120,\n  "data": [48.75, 2.30]\n}\n', {
            data_0: 48.75,
            data_1: 2.3,
          }),
          time: "2012-11-02T02:42:00.000Z",
        },
        bad('{\n  "t": 1,\n'),
        {
          ...good('{"time":"2012-11-02T02:42:01Z","v":1}{"v":2,', { v: 1 }),
          time: "2012-11-02T02:42:01.000Z",
        },
        { ...good('"time":1351824122}\n', { v: 2 }), time: "2012-11-02T02:42:02.000Z" },
      ];
    case "sds011":
      return [
        { bytes: sds011Frame(1.0, 2.6), kind: "good", values: { pm25: 1, pm10: 2.6 } },
        { bytes: sds011Frame(3, 4, true), kind: "bad" },
        { bytes: sds011Frame(12.3, 45.6), kind: "good", values: { pm25: 12.3, pm10: 45.6 } },
      ];
    case "vedirect": {
      const values = VE_VALUES;
      return [
        { bytes: veBlock(VE_FIELDS), kind: "good", values },
        { bytes: veBlock(VE_FIELDS, true), kind: "bad" },
        ignored(":A0102000543\n"),
        { bytes: veBlock(VE_FIELDS), kind: "good", values },
      ];
    }
  }
}

export function expected(steps: Step[]): { good: number; bad: number } {
  return {
    good: steps.filter((s) => s.kind === "good").length,
    bad: steps.filter((s) => s.kind === "bad").length,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes the steps to a tty path, `gapMs` apart (0: as one burst). */
export async function play(path: string, steps: Step[], gapMs = 5): Promise<void> {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NOCTTY);
  try {
    for (const s of steps) {
      let off = 0;
      while (off < s.bytes.length) off += writeSync(fd, s.bytes, off);
      if (gapMs > 0) await sleep(gapMs);
    }
  } finally {
    closeSync(fd);
  }
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const port = arg("--port");
  const format = (arg("--format") ?? "kv") as Format;
  if (!port || !FORMATS.includes(format)) {
    process.stderr.write(
      `usage: sensor-emulator --port PATH --format ${FORMATS.join("|")} [--baud N] [--interval-ms N] [--count N] [--no-faults]\n`,
    );
    process.exit(2);
  }
  const interval = Number(arg("--interval-ms") ?? 200);
  const count = Number(arg("--count") ?? Number.POSITIVE_INFINITY);
  const faults = !argv.includes("--no-faults");
  const steps = scenario(format).filter((s) => faults || s.kind !== "bad");
  // through ledge's own transport, so a real adapter gets its baud rate and raw mode
  const { openSerial } = await import("../../src/drivers/common/serial/open.ts");
  const tty = await openSerial({ path: port, baudRate: Number(arg("--baud") ?? 9600) });
  let good = 0;
  let badN = 0;
  try {
    for (let i = 0; i < count; i++) {
      const s = steps[i % steps.length];
      if (!s) break;
      await tty.write(s.bytes);
      if (s.kind === "good") good++;
      if (s.kind === "bad") badN++;
      await sleep(interval);
    }
  } finally {
    await tty.close();
  }
  process.stdout.write(`${JSON.stringify({ good, bad: badN })}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
