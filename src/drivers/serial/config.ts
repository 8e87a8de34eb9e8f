/**
 * `serial.toml`: one `[[device]]` table per line-oriented sensor. Validated as a whole: any error
 * (with file, line and reason) rejects the file, so the driver never starts half-configured.
 */
import { CHILD_NAME, CHILD_NAME_HINT } from "../common/child-device.ts";
import { rootTables, type TableReader } from "../common/fields.ts";
import { DeviceFileError, locate, parseTomlDoc, type TomlDoc } from "../common/toml-file.ts";
import { buildParser, PARSER_KINDS, type ParserConfig } from "./parsers/index.ts";
import { BAUD_RATES, type DataBits, type Parity, type SerialSettings, type StopBits } from "./transport.ts";

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
  /** Longest accepted line in bytes. */
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
  "units",
  "max_line",
] as const;

function parserConfig(t: TableReader): ParserConfig {
  const kind = t.str("parser", { choices: PARSER_KINDS });
  const only = (keys: string[]) => {
    for (const k of ["pattern", "separator", "assign", "require_checksum"])
      if (t.has(k) && !keys.includes(k))
        throw t.error(k, `${t.describe()}: '${k}' does not apply to the ${kind} parser`);
  };
  let c: ParserConfig;
  switch (kind) {
    case "regex":
      only(["pattern"]);
      c = { kind, pattern: t.str("pattern") };
      break;
    case "kv":
      only(["separator", "assign"]);
      c = { kind, separator: t.optStr("separator"), assign: t.optStr("assign") };
      if (c.assign === "") throw t.error("assign", `${t.describe()}: 'assign' must not be empty`);
      if (c.separator === "") throw t.error("separator", `${t.describe()}: 'separator' must not be empty`);
      break;
    case "json":
      only([]);
      c = { kind };
      break;
    default:
      only(["require_checksum"]);
      c = { kind: "nmea", requireChecksum: t.bool("require_checksum", { default: true }) };
  }
  try {
    buildParser(c);
  } catch (e) {
    throw t.error("pattern", `${t.describe()}: invalid pattern: ${(e as Error).message}`);
  }
  return c;
}

function device(t: TableReader): SerialDeviceConfig {
  t.checkKeys(KEYS);
  const name = t.str("name", { pattern: CHILD_NAME, hint: CHILD_NAME_HINT });
  const units: Record<string, string> = {};
  const u = t.sub("units");
  for (const k of Object.keys(u?.table ?? {})) if (u) units[k] = u.str(k);
  return {
    name,
    type: t.str("type", { default: "serial-sensor" }),
    serial: {
      path: t.str("port", { pattern: /^\S+$/, hint: "a device path such as /dev/ttyUSB0" }),
      baudRate: t.int("baud", { default: 9600 }),
      dataBits: t.int("data_bits", { default: 8, min: 5, max: 8 }) as DataBits,
      stopBits: t.int("stop_bits", { default: 1, min: 1, max: 2 }) as StopBits,
      parity: t.str("parity", { default: "none", choices: ["none", "even", "odd"] }) as Parity,
    },
    parser: parserConfig(t),
    measurement: t.str("measurement", {
      default: "",
      pattern: /^([^/#+\s]{1,64})?$/,
      hint: "one topic level",
    }),
    units,
    maxLine: t.int("max_line", { default: 1024, min: 16, max: 65536 }),
  };
}

/** Parses and validates a whole serial.toml; throws DeviceFileError on the first problem. */
export function parseSerialConfig(file: string, source: string): SerialDeviceConfig[] {
  const doc: TomlDoc = parseTomlDoc(file, source);
  for (const k of Object.keys(doc.data))
    if (k !== "device")
      throw new DeviceFileError(
        file,
        locate(source, [k]),
        `unknown top-level key '${k}' (expected [[device]] tables)`,
      );
  const devices = rootTables(doc, "device").map(device);
  const seenName = new Map<string, number>();
  const seenPort = new Map<string, number>();
  devices.forEach((d, i) => {
    const baudOk = (BAUD_RATES as readonly number[]).includes(d.serial.baudRate);
    if (!baudOk)
      throw new DeviceFileError(
        file,
        locate(source, ["device", i, "baud"]),
        `[[device]] '${d.name}': unsupported baud rate ${d.serial.baudRate}`,
      );
    const n = seenName.get(d.name);
    if (n !== undefined)
      throw new DeviceFileError(
        file,
        locate(source, ["device", i, "name"]),
        `device name '${d.name}' is used twice (also [[device]] #${n + 1})`,
      );
    seenName.set(d.name, i);
    const p = seenPort.get(d.serial.path);
    if (p !== undefined)
      throw new DeviceFileError(
        file,
        locate(source, ["device", i, "port"]),
        `port ${d.serial.path} is used by two devices (also [[device]] #${p + 1})`,
      );
    seenPort.set(d.serial.path, i);
  });
  return devices;
}
