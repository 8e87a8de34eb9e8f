/**
 * `serial.toml`: one `[[device]]` table per sensor. Validated as a whole: every problem (with file,
 * line and reason) is reported and rejects the file, so the driver never starts half-configured.
 */
import { readChildName } from "../common/child-device.ts";
import { DeviceFile, type DeviceTable, Unique } from "../common/device-file.ts";
import { LINE_KEYS, readSerialLine } from "../common/serial/line-config.ts";
import type { SerialSettings } from "../common/serial/transport.ts";
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

const KEYS = [
  "name",
  "type",
  "port",
  ...LINE_KEYS,
  "parser",
  "measurement",
  ...Object.keys(PARSER_KEYS),
  "units",
  "max_line",
];

/** `time_source = "device"`: the reading's time comes from the device (GPS time, a JSON field). */
function deviceTime(t: DeviceTable): { deviceTime?: true } {
  return t.oneOf("time_source", ["read", "device"], { default: "read" }) === "device"
    ? { deviceTime: true }
    : {};
}

/** `[device.values]` of the json parser: series (or group.series) = dotted path in the document. */
function jsonSelect(select: DeviceTable): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(select.table)) {
    if (k.split(".").length > 2) select.report(k, `series '${k}' nests deeper than one group`);
    out[k] = select.str(k, { pattern: /^[^.\s]+(\.[^.\s]+)*$/, hint: "a dotted path such as data.0" }) ?? "";
  }
  return out;
}

/** The parser's settings, or undefined with its problems reported. */
function parserConfig(t: DeviceTable): ParserConfig | undefined {
  const kind = t.oneOf("parser", PARSER_KINDS);
  if (kind === undefined) return undefined;
  for (const [k, kinds] of Object.entries(PARSER_KEYS))
    if (t.has(k) && !kinds.includes(kind)) t.report(k, `'${k}' does not apply to the ${kind} parser`);
  switch (kind) {
    case "regex": {
      const pattern = t.str("pattern");
      if (pattern === undefined) return undefined;
      try {
        buildParser({ kind, pattern });
      } catch (e) {
        t.report("pattern", `invalid pattern: ${(e as Error).message}`);
        return undefined;
      }
      return { kind, pattern };
    }
    case "kv":
      return {
        kind,
        separator: t.str("separator", { optional: true }),
        assign: t.str("assign", { optional: true }),
      };
    case "json": {
      const c: ParserConfig = { kind, ...deviceTime(t) };
      const timeField = t.str("time_field", {
        optional: true,
        pattern: /^[^.\s][^\s]*$/,
        hint: "a field name or dotted path",
      });
      if (timeField !== undefined) c.timeField = timeField;
      const arrays = t.oneOf("arrays", ["index", "ignore"], { optional: true });
      if (arrays !== undefined) c.arrays = arrays;
      const select = t.sub("values");
      if (select) c.select = jsonSelect(select);
      return c;
    }
    case "nmea":
      return {
        kind,
        requireChecksum: t.bool("require_checksum", { default: true }) ?? true,
        ...deviceTime(t),
      };
    case "frame": {
      const f = t.sub("frame");
      if (!f) {
        if (!t.has("frame")) t.report(undefined, "the frame parser needs a [device.frame] table");
        return undefined;
      }
      const frame = frameSpec(f);
      return frame && { kind, frame };
    }
    default:
      return { kind };
  }
}

function units(t: DeviceTable): Record<string, string> {
  const u = t.sub("units");
  const out: Record<string, string> = {};
  for (const k of Object.keys(u?.table ?? {})) out[k] = u?.str(k, { empty: true }) ?? "";
  return out;
}

/**
 * One `[[device]]`. Where a value is invalid its problem is recorded and a placeholder stands in:
 * the file is rejected as a whole, so the placeholder never reaches a driver.
 */
function device(t: DeviceTable): SerialDeviceConfig {
  t.keys(KEYS);
  return {
    name: readChildName(t) ?? "",
    type: t.str("type", { default: "serial-sensor" }) ?? "",
    serial: readSerialLine(t, "port", { min: 5, max: 8 }) ?? {
      path: "",
      baudRate: 9600,
      dataBits: 8,
      stopBits: 1,
      parity: "none",
    },
    parser: parserConfig(t) ?? { kind: "vedirect" },
    measurement:
      t.str("measurement", {
        default: "",
        empty: true,
        pattern: /^([^/#+\s]{1,64})?$/,
        hint: "one topic level (no '/', '+', '#' or spaces)",
      }) ?? "",
    units: units(t),
    maxLine: t.int("max_line", { default: 1024, min: 16, max: 65536 }) ?? 1024,
  };
}

/** Parses and validates a whole serial.toml; throws a DeviceFileError with every problem. */
export function parseSerialConfig(file: string, source: string): SerialDeviceConfig[] {
  const f = DeviceFile.parse(file, source);
  const root = f.root();
  root.keys(["device"]);
  const names = new Unique("name");
  const ports = new Unique("port");
  const devices = root.tables("device").map((t) => {
    names.check(t);
    ports.check(t);
    return device(t);
  });
  f.check();
  return devices;
}
