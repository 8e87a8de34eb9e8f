/**
 * The Modbus device description (`modbus.toml`): parsed and validated as a whole, every error with
 * file, line and reason, so that nothing starts half-configured. Pure apart from `loadModbusConfig`.
 */
import type { Severity } from "../../api/payloads.ts";
import { isObj, type Obj } from "../../foundation/json.ts";
import { CHILD_NAME, CHILD_NAME_HINT } from "../common/child-device.ts";
import type { Parity } from "../common/serial/transport.ts";
import {
  DeviceFileError,
  fileError,
  locate,
  parseTomlDoc,
  readDeviceFile,
  type TomlPath,
} from "../common/toml-file.ts";
import type { Encoding, Table } from "./codec.ts";
import { Reader } from "./config-reader.ts";
import { MAX_READ_BITS, MAX_READ_REGISTERS } from "./planner.ts";

export type Condition = ">" | ">=" | "<" | "<=" | "==" | "!=";

export type Transport =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "rtu"; path: string; baudRate: number; parity: Parity; dataBits: 7 | 8; stopBits: 1 | 2 };

export type Destination =
  | { kind: "measurement"; type: string; group?: string; series: string }
  /** The retained twin fragment `te/device/<name>///twin/<fragment>`, published when it changes. */
  | { kind: "twin"; fragment: string }
  | {
      kind: "alarm";
      type: string;
      condition: Condition;
      threshold: number;
      severity: Severity;
      text: string;
    };

export interface PointConfig {
  name: string;
  table: Table;
  address: number;
  width: number;
  encoding: Encoding;
  dest: Destination;
}

export interface DeviceConfig {
  name: string;
  type: string;
  unitId: number;
  transport: Transport;
  pollIntervalMs: number;
  timeoutMs: number;
  retries: number;
  maxGap: number;
  maxRegisters: number;
  maxBits: number;
  downAfter: number;
  backoffMaxMs: number;
  writes: boolean;
  points: PointConfig[];
}

export interface ModbusConfig {
  file: string;
  devices: DeviceConfig[];
}

/** The queue key of a transport: one queue (and one connection) per serial line or TCP endpoint. */
export function endpointOf(t: Transport): string {
  return t.kind === "tcp" ? `tcp:${t.host}:${t.port}` : `rtu:${t.path}`;
}

const DEFAULT_KEYS = [
  "poll_interval_s",
  "timeout_ms",
  "retries",
  "max_gap",
  "max_read_registers",
  "max_read_bits",
  "down_after",
  "backoff_max_s",
] as const;
const DEVICE_KEYS = new Set<string>([
  ...DEFAULT_KEYS,
  "name",
  "type",
  "transport",
  "host",
  "port",
  "serial_port",
  "baud",
  "parity",
  "data_bits",
  "stop_bits",
  "unit_id",
  "measurement",
  "writes",
  "point",
]);

export function loadModbusConfig(file: string): ModbusConfig {
  const text = readDeviceFile(file);
  if (text === undefined)
    throw fileError(
      file,
      0,
      "missing: describe the Modbus devices there (README, Modbus) or set modbus.config_file",
    );
  return parseModbusConfig(text, file);
}

export function parseModbusConfig(text: string, file = "modbus.toml"): ModbusConfig {
  const doc = parseTomlDoc(file, text).data as Obj;
  const errors: { line: number; reason: string }[] = [];
  // a problem of the file as a whole (no device at all) is reported at its first line
  const lineOf = (path: TomlPath) => locate(text, path) ?? 1;
  const fail = (path: TomlPath, reason: string) => errors.push({ line: lineOf(path), reason });
  const r = new Reader(fail);

  for (const k of Object.keys(doc))
    if (k !== "defaults" && k !== "device")
      fail([k], `unknown key '${k}' (expected [defaults] or [[device]])`);
  const defaults = isObj(doc.defaults) ? doc.defaults : {};
  if (doc.defaults !== undefined && !isObj(doc.defaults)) fail(["defaults"], "'defaults' must be a table");
  for (const k of Object.keys(defaults))
    if (!(DEFAULT_KEYS as readonly string[]).includes(k))
      fail(["defaults", k], `unknown key 'defaults.${k}'`);

  const rawDevices = doc.device;
  if (rawDevices === undefined) fail([], "no [[device]] defined");
  else if (!Array.isArray(rawDevices)) fail(["device"], "'device' must be an array of tables ([[device]])");

  const devices: DeviceConfig[] = [];
  const names = new Map<string, number>();
  const lineSettings = new Map<string, { line: string; at: TomlPath }>();
  (Array.isArray(rawDevices) ? rawDevices : []).forEach((d: unknown, di: number) => {
    const at: TomlPath = ["device", di];
    if (!isObj(d)) {
      fail(at, "a device must be a table");
      return;
    }
    for (const k of Object.keys(d)) if (!DEVICE_KEYS.has(k)) fail([...at, k], `unknown device key '${k}'`);
    const get = <T>(key: string, read: (v: unknown, path: TomlPath) => T | undefined, def: T): T => {
      if (d[key] !== undefined) return read(d[key], [...at, key]) ?? def;
      if (defaults[key] !== undefined) return read(defaults[key], ["defaults", key]) ?? def;
      return def;
    };
    const name = r.str(d.name, [...at, "name"]);
    if (name === undefined) return;
    if (!CHILD_NAME.test(name) || name === "main")
      fail([...at, "name"], `device name '${name}' must be ${CHILD_NAME_HINT}, and not 'main'`);
    if (names.has(name)) fail([...at, "name"], `duplicate device name '${name}'`);
    names.set(name, di);
    const transport = r.readTransport(d, at);
    // RTU unit 0 is broadcast: nobody answers a read sent to it
    const [unitMin, unitMax] = d.transport === "tcp" ? [0, 255] : [1, 247];
    const dev: DeviceConfig = {
      name,
      type: d.type === undefined ? "modbus-device" : (r.str(d.type, [...at, "type"]) ?? ""),
      unitId: d.unit_id === undefined ? 1 : (r.int(d.unit_id, [...at, "unit_id"], unitMin, unitMax) ?? 1),
      transport: transport ?? { kind: "tcp", host: "", port: 0 },
      pollIntervalMs: Math.round(get("poll_interval_s", (v, p) => r.num(v, p, 0.01, 86400), 10) * 1000),
      timeoutMs: get("timeout_ms", (v, p) => r.int(v, p, 10, 60000), 1000),
      retries: get("retries", (v, p) => r.int(v, p, 0, 10), 1),
      maxGap: get("max_gap", (v, p) => r.int(v, p, 0, MAX_READ_BITS), 8),
      maxRegisters: get(
        "max_read_registers",
        (v, p) => r.int(v, p, 1, MAX_READ_REGISTERS),
        MAX_READ_REGISTERS,
      ),
      maxBits: get("max_read_bits", (v, p) => r.int(v, p, 1, MAX_READ_BITS), MAX_READ_BITS),
      downAfter: get("down_after", (v, p) => r.int(v, p, 1, 1000), 1),
      backoffMaxMs: Math.round(get("backoff_max_s", (v, p) => r.num(v, p, 0, 86400), 60) * 1000),
      writes: d.writes === undefined ? true : (r.bool(d.writes, [...at, "writes"]) ?? true),
      points: [],
    };
    if (transport?.kind === "rtu") {
      const t = transport;
      const line = `${t.baudRate} ${t.dataBits}${t.parity[0]!.toUpperCase()}${t.stopBits}`;
      const seen = lineSettings.get(t.path);
      if (seen && seen.line !== line)
        fail(
          [...at, "baud"],
          `serial port ${t.path} is set to ${line} here but ${seen.line} on line ${lineOf(seen.at)}`,
        );
      else lineSettings.set(t.path, { line, at: [...at, "baud"] });
    }
    const defMeasurement =
      d.measurement === undefined ? "modbus" : r.topicPart(d.measurement, [...at, "measurement"]);
    if (d.point === undefined || (Array.isArray(d.point) && d.point.length === 0))
      fail(at, `device '${name}' has no [[device.point]]`);
    else if (!Array.isArray(d.point))
      fail([...at, "point"], "'point' must be an array of tables ([[device.point]])");
    const pointNames = new Set<string>();
    (Array.isArray(d.point) ? d.point : []).forEach((p: unknown, pi: number) => {
      const pat: TomlPath = [...at, "point", pi];
      if (!isObj(p)) {
        fail(pat, "a point must be a table");
        return;
      }
      const point = r.readPoint(p, pat, defMeasurement ?? "modbus");
      if (!point) return;
      if (pointNames.has(point.name))
        fail([...pat, "name"], `duplicate point name '${point.name}' in device '${name}'`);
      pointNames.add(point.name);
      dev.points.push(point);
    });
    devices.push(dev);
  });
  if (errors.length) throw new DeviceFileError(file, errors);
  return { file, devices };
}
