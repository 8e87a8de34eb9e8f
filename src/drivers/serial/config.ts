/**
 * `serial.toml`: one `[[device]]` table per sensor. Validated as a whole: every error (with file,
 * line and reason) is reported and rejects the file, so the driver never starts half-configured.
 */
import { CHILD_NAME, CHILD_NAME_HINT } from "../common/child-device.ts";
import { rootTables, type TableReader } from "../common/fields.ts";
import {
  BAUD_RATES,
  type DataBits,
  type Parity,
  type SerialSettings,
  type StopBits,
} from "../common/serial/transport.ts";
import { locate, Problems, parseTomlDoc } from "../common/toml-file.ts";
import { frameSpec } from "./frame-config.ts";
import { buildParser, DEVICE_TIME_KINDS, PARSER_KINDS, type ParserConfig } from "./parsers/index.ts";

export interface SerialDeviceConfig {
  /** Child device id: `te/device/<name>//`. */
  name: string;
  /** Registration type (what the cloud shows as the device type). */
  type: string;
  serial: SerialSettings;
  parser: ParserConfig;
  /** Measurement type: `te/device/<name>///m/<measurement>`. */
  measurement: string;
  /** Units per series for the retained `.../m/<measurement>/meta`, e.g. {"temperature": "°C"}. */
  units: Record<string, string>;
  /** Longest accepted line (or JSON document, or VE.Direct block) in bytes. */
  maxLine: number;
}

const KEYS = [
  "name",
  "type",
  "port",
  "baud",
  "data_bits",
  "stop_bits",
  "parity",
  "parser",
  "measurement",
  "pattern",
  "separator",
  "assign",
  "require_checksum",
  "time_source",
  "time_field",
  "arrays",
  "values",
  "frame",
  "units",
  "max_line",
] as const;

/** Keys that only some parsers take. */
const PARSER_KEYS: Record<string, readonly string[]> = {
  pattern: ["regex"],
  separator: ["kv"],
  assign: ["kv"],
  require_checksum: ["nmea"],
  time_source: DEVICE_TIME_KINDS,
  time_field: ["json"],
  arrays: ["json"],
  values: ["json"],
  frame: ["frame"],
};

function parserConfig(t: TableReader, p: Problems): ParserConfig | undefined {
  const kind = t.str("parser", { choices: PARSER_KINDS }) as (typeof PARSER_KINDS)[number];
  for (const [k, kinds] of Object.entries(PARSER_KEYS))
    if (t.has(k) && !kinds.includes(kind))
      p.add(
        locate(t.doc.source, [...t.path, k]),
        `${t.describe()}: '${k}' does not apply to the ${kind} parser`,
      );
  const deviceTime = () =>
    t.str("time_source", { default: "read", choices: ["read", "device"] }) === "device" ? true : undefined;
  switch (kind) {
    case "regex": {
      const pattern = t.str("pattern");
      try {
        buildParser({ kind, pattern });
      } catch (e) {
        throw t.error("pattern", `${t.describe()}: invalid pattern: ${(e as Error).message}`);
      }
      return { kind, pattern };
    }
    case "kv": {
      const c = { kind, separator: t.optStr("separator"), assign: t.optStr("assign") } as const;
      if (c.assign === "") throw t.error("assign", `${t.describe()}: 'assign' must not be empty`);
      if (c.separator === "") throw t.error("separator", `${t.describe()}: 'separator' must not be empty`);
      return c;
    }
    case "json": {
      const select = t.sub("values");
      const c: ParserConfig = { kind };
      const dt = p.try(deviceTime, undefined);
      if (dt) c.deviceTime = dt;
      if (t.has("time_field"))
        c.timeField = p.try(() => t.str("time_field", { pattern: /^[^.\s][^\s]*$/ }), "time");
      if (t.has("arrays"))
        c.arrays = p.try(() => t.str("arrays", { choices: ["index", "ignore"] }), "index") as "index";
      if (select) {
        c.select = {};
        for (const k of Object.keys(select.table)) {
          const path = p.try(
            () => select.str(k, { pattern: /^[^.\s]+(\.[^.\s]+)*$/, hint: "a dotted path such as data.0" }),
            "",
          );
          if (k.split(".").length > 2)
            p.add(
              locate(t.doc.source, [...select.path, k]),
              `${select.describe()}: series '${k}' nests deeper than one group`,
            );
          c.select[k] = path;
        }
      }
      return c;
    }
    case "nmea": {
      const c: ParserConfig = {
        kind: "nmea",
        requireChecksum: p.try(() => t.bool("require_checksum", { default: true }), true),
      };
      const dt = p.try(deviceTime, undefined);
      if (dt) c.deviceTime = dt;
      return c;
    }
    case "frame": {
      const f = t.sub("frame");
      if (!f) throw t.error(undefined, `${t.describe()}: the frame parser needs a [device.frame] table`);
      const frame = frameSpec(f, p);
      return frame && { kind, frame };
    }
    default:
      return { kind };
  }
}

function device(t: TableReader, p: Problems): SerialDeviceConfig {
  for (const k of Object.keys(t.table))
    if (!(KEYS as readonly string[]).includes(k))
      p.add(
        locate(t.doc.source, [...t.path, k]),
        `${t.describe()}: '${k}' is not a known key (known: ${KEYS.join(", ")})`,
      );
  const name = p.try(() => t.str("name", { pattern: CHILD_NAME, hint: CHILD_NAME_HINT }), "");
  const units: Record<string, string> = {};
  const u = p.try(() => t.sub("units"), undefined);
  for (const k of Object.keys(u?.table ?? {})) if (u) units[k] = p.try(() => u.str(k), "");
  const baudRate = p.try(() => t.int("baud", { default: 9600 }), 9600);
  if (!(BAUD_RATES as readonly number[]).includes(baudRate))
    p.add(locate(t.doc.source, [...t.path, "baud"]), `${t.describe()}: unsupported baud rate ${baudRate}`);
  return {
    name,
    type: p.try(() => t.str("type", { default: "serial-sensor" }), ""),
    serial: {
      path: p.try(() => t.str("port", { pattern: /^\S+$/, hint: "a device path such as /dev/ttyUSB0" }), ""),
      baudRate,
      dataBits: p.try(() => t.int("data_bits", { default: 8, min: 5, max: 8 }), 8) as DataBits,
      stopBits: p.try(() => t.int("stop_bits", { default: 1, min: 1, max: 2 }), 1) as StopBits,
      parity: p.try(
        () => t.str("parity", { default: "none", choices: ["none", "even", "odd"] }),
        "none",
      ) as Parity,
    },
    // a placeholder only when the parser is invalid: its problem is recorded and the file rejected
    parser: p.try(() => parserConfig(t, p), undefined) ?? { kind: "vedirect" },
    measurement: p.try(
      () => t.str("measurement", { default: "", pattern: /^([^/#+\s]{1,64})?$/, hint: "one topic level" }),
      "",
    ),
    units,
    maxLine: p.try(() => t.int("max_line", { default: 1024, min: 16, max: 65536 }), 1024),
  };
}

/** Parses and validates a whole serial.toml; throws a DeviceFileError with every problem. */
export function parseSerialConfig(file: string, source: string): SerialDeviceConfig[] {
  const doc = parseTomlDoc(file, source);
  const p = new Problems(file);
  for (const k of Object.keys(doc.data))
    if (k !== "device")
      p.add(locate(source, [k]), `unknown top-level key '${k}' (expected [[device]] tables)`);
  const devices = p.try(() => rootTables(doc, "device"), []).map((t) => device(t, p));
  const seenName = new Map<string, number>();
  const seenPort = new Map<string, number>();
  devices.forEach((d, i) => {
    const n = seenName.get(d.name);
    if (n !== undefined && d.name !== "")
      p.add(
        locate(source, ["device", i, "name"]),
        `device name '${d.name}' is used twice (also [[device]] #${n + 1})`,
      );
    seenName.set(d.name, i);
    const o = seenPort.get(d.serial.path);
    if (o !== undefined && d.serial.path !== "")
      p.add(
        locate(source, ["device", i, "port"]),
        `port ${d.serial.path} is used by two devices (also [[device]] #${o + 1})`,
      );
    seenPort.set(d.serial.path, i);
  });
  p.check();
  return devices;
}
