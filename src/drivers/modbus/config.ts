/**
 * The Modbus device description (`modbus.toml`): parsed and validated as a whole, every error with
 * file, line and reason, so that nothing starts half-configured. Pure apart from `loadModbusConfig`.
 */
import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { CHILD_NAME, CHILD_NAME_HINT } from "../common/child-device.ts";
import { BAUD_RATES } from "../serial/transport.ts";
import {
  type Encoding,
  isBitTable,
  TABLES,
  type Table,
  VALUE_TYPES,
  type ValueType,
  widthOf,
} from "./codec.ts";
import { MAX_READ_BITS, MAX_READ_REGISTERS } from "./planner.ts";
import { TomlLines, type TomlPath } from "./toml-lines.ts";

export type Parity = "none" | "even" | "odd";
export type Severity = "critical" | "major" | "minor" | "warning";
export type Condition = ">" | ">=" | "<" | "<=" | "==" | "!=";

export type Transport =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "rtu"; path: string; baudRate: number; parity: Parity; dataBits: 7 | 8; stopBits: 1 | 2 };

export type Destination =
  | { kind: "measurement"; type: string; group?: string; series: string }
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

export class ModbusConfigError extends Error {
  constructor(
    readonly file: string,
    readonly errors: { line: number; reason: string }[],
  ) {
    super(errors.map((e) => `${file}:${e.line}: ${e.reason}`).join("\n"));
    this.name = "ModbusConfigError";
  }
}

/** The queue key of a transport: one queue (and one connection) per serial line or TCP endpoint. */
export function endpointOf(t: Transport): string {
  return t.kind === "tcp" ? `tcp:${t.host}:${t.port}` : `rtu:${t.path}`;
}

const CONDITIONS: readonly Condition[] = [">", ">=", "<", "<=", "==", "!="];
const SEVERITIES: readonly Severity[] = ["critical", "major", "minor", "warning"];

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
const POINT_KEYS = new Set([
  "name",
  "table",
  "address",
  "type",
  "byte_order",
  "word_order",
  "scale",
  "offset",
  "measurement",
  "series",
  "alarm",
  "condition",
  "threshold",
  "severity",
  "text",
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

export function loadModbusConfig(file: string): ModbusConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ModbusConfigError(file, [{ line: 0, reason: `cannot read: ${(e as Error).message}` }]);
  }
  return parseModbusConfig(text, file);
}

export function parseModbusConfig(text: string, file = "modbus.toml"): ModbusConfig {
  let doc: Obj;
  try {
    doc = parse(text) as Obj;
  } catch (e) {
    const err = e as Error & { line?: number };
    throw new ModbusConfigError(file, [
      {
        line: err.line ?? 1,
        reason: `invalid TOML: ${err.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "")}`,
      },
    ]);
  }
  const lines = new TomlLines(text);
  const errors: { line: number; reason: string }[] = [];
  const fail = (path: TomlPath, reason: string) => errors.push({ line: lines.lineOf(path), reason });
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
    const unitMax = transport?.kind === "tcp" ? 255 : 247;
    const dev: DeviceConfig = {
      name,
      type: d.type === undefined ? "modbus-device" : (r.str(d.type, [...at, "type"]) ?? ""),
      unitId: d.unit_id === undefined ? 1 : (r.int(d.unit_id, [...at, "unit_id"], 0, unitMax) ?? 1),
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
          `serial port ${t.path} is set to ${line} here but ${seen.line} on line ${lines.lineOf(seen.at)}`,
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
  if (errors.length)
    throw new ModbusConfigError(
      file,
      errors.sort((a, b) => a.line - b.line),
    );
  return { file, devices };
}

class Reader {
  /** Errors reported so far, so a reader can tell whether its part was valid. */
  private count = 0;
  private readonly fail: (path: TomlPath, reason: string) => void;
  constructor(report: (path: TomlPath, reason: string) => void) {
    this.fail = (path, reason) => {
      this.count++;
      report(path, reason);
    };
  }

  str(v: unknown, at: TomlPath): string | undefined {
    if (typeof v === "string" && v.length > 0) return v;
    this.fail(at, `'${at.at(-1)}' must be a non-empty string`);
    return undefined;
  }

  topicPart(v: unknown, at: TomlPath): string | undefined {
    const s = this.str(v, at);
    if (s !== undefined && !/^[^/#+]+$/.test(s)) {
      this.fail(at, `'${at.at(-1)}' must not contain '/', '+' or '#'`);
      return undefined;
    }
    return s;
  }

  int(v: unknown, at: TomlPath, min: number, max: number): number | undefined {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.fail(at, `'${at.at(-1)}' must be an integer between ${min} and ${max}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  num(v: unknown, at: TomlPath, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): number | undefined {
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      this.fail(at, `'${at.at(-1)}' must be a number between ${min} and ${max}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  bool(v: unknown, at: TomlPath): boolean | undefined {
    if (typeof v === "boolean") return v;
    this.fail(at, `'${at.at(-1)}' must be true or false`);
    return undefined;
  }

  oneOf<T extends string>(v: unknown, at: TomlPath, choices: readonly T[]): T | undefined {
    if (typeof v === "string" && (choices as readonly string[]).includes(v)) return v as T;
    this.fail(at, `'${at.at(-1)}' must be one of ${choices.join(", ")}, got ${JSON.stringify(v)}`);
    return undefined;
  }

  readTransport(d: Obj, at: TomlPath): Transport | undefined {
    const kind = this.oneOf(d.transport, [...at, "transport"], ["tcp", "rtu"] as const);
    const forbid = (keys: string[]) => {
      for (const k of keys)
        if (d[k] !== undefined) this.fail([...at, k], `'${k}' does not apply to transport '${kind}'`);
    };
    if (kind === "tcp") {
      forbid(["serial_port", "baud", "parity", "data_bits", "stop_bits"]);
      const host = this.str(d.host, [...at, "host"]);
      const port = d.port === undefined ? 502 : this.int(d.port, [...at, "port"], 1, 65535);
      return host && port ? { kind, host, port } : undefined;
    }
    if (kind === "rtu") {
      forbid(["host", "port"]);
      const path = this.str(d.serial_port, [...at, "serial_port"]);
      const baudRate = d.baud === undefined ? 9600 : this.int(d.baud, [...at, "baud"], 50, 4_000_000);
      if (baudRate !== undefined && !(BAUD_RATES as readonly number[]).includes(baudRate))
        this.fail([...at, "baud"], `unsupported baud rate ${baudRate} (one of ${BAUD_RATES.join(", ")})`);
      const parity =
        d.parity === undefined
          ? "none"
          : this.oneOf(d.parity, [...at, "parity"], ["none", "even", "odd"] as const);
      const dataBits = d.data_bits === undefined ? 8 : this.int(d.data_bits, [...at, "data_bits"], 7, 8);
      const stopBits = d.stop_bits === undefined ? 1 : this.int(d.stop_bits, [...at, "stop_bits"], 1, 2);
      if (!path || !baudRate || !parity || !dataBits || !stopBits) return undefined;
      return { kind, path, baudRate, parity, dataBits: dataBits as 7 | 8, stopBits: stopBits as 1 | 2 };
    }
    return undefined;
  }

  readPoint(p: Obj, at: TomlPath, defMeasurement: string): PointConfig | undefined {
    const errorsBefore = this.count;
    for (const k of Object.keys(p)) if (!POINT_KEYS.has(k)) this.fail([...at, k], `unknown point key '${k}'`);
    const name = this.topicPart(p.name, [...at, "name"]);
    const table = this.oneOf(p.table, [...at, "table"], TABLES);
    const address = this.int(p.address, [...at, "address"], 0, 65535);
    const type =
      p.type === undefined
        ? table && isBitTable(table)
          ? "bool"
          : "uint16"
        : this.oneOf<ValueType>(p.type, [...at, "type"], VALUE_TYPES);
    const byteOrder =
      p.byte_order === undefined
        ? "big"
        : this.oneOf(p.byte_order, [...at, "byte_order"], ["big", "little"] as const);
    const wordOrder =
      p.word_order === undefined
        ? "big"
        : this.oneOf(p.word_order, [...at, "word_order"], ["big", "little"] as const);
    const scale = p.scale === undefined ? 1 : this.num(p.scale, [...at, "scale"]);
    const offset = p.offset === undefined ? 0 : this.num(p.offset, [...at, "offset"]);
    if (scale === 0) this.fail([...at, "scale"], "'scale' must not be 0");
    if (table && type && isBitTable(table) && type !== "bool")
      this.fail([...at, "type"], `table '${table}' holds bits: type must be bool, got ${type}`);
    if (address !== undefined && type && address + widthOf(type) > 65536)
      this.fail([...at, "address"], `${type} at ${address} runs past address 65535`);
    let dest: Destination | undefined;
    if (p.alarm !== undefined) {
      for (const k of ["measurement", "series"])
        if (p[k] !== undefined) this.fail([...at, k], `'${k}' does not apply to an alarm point`);
      const alarmType = this.topicPart(p.alarm, [...at, "alarm"]);
      const condition =
        p.condition === undefined
          ? type === "bool"
            ? "=="
            : undefined
          : this.oneOf(p.condition, [...at, "condition"], CONDITIONS);
      if (condition === undefined && p.condition === undefined)
        this.fail(
          [...at, "condition"],
          "an alarm point needs 'condition' (>, >=, <, <=, ==, !=) and 'threshold'",
        );
      if (p.threshold === undefined && type !== "bool")
        this.fail([...at, "threshold"], "an alarm point needs 'threshold'");
      const threshold =
        p.threshold === undefined
          ? type === "bool"
            ? 1
            : undefined
          : this.num(p.threshold, [...at, "threshold"]);
      const severity =
        p.severity === undefined ? "major" : this.oneOf(p.severity, [...at, "severity"], SEVERITIES);
      const text =
        p.text === undefined
          ? `${name ?? "point"} ${condition ?? ""} ${threshold ?? ""}`.trim()
          : this.str(p.text, [...at, "text"]);
      if (alarmType && condition && threshold !== undefined && severity && text)
        dest = { kind: "alarm", type: alarmType, condition, threshold, severity, text };
    } else {
      for (const k of ["condition", "threshold", "severity", "text"])
        if (p[k] !== undefined) this.fail([...at, k], `'${k}' only applies to an alarm point (set 'alarm')`);
      const mtype =
        p.measurement === undefined ? defMeasurement : this.topicPart(p.measurement, [...at, "measurement"]);
      const series = p.series === undefined ? name : this.str(p.series, [...at, "series"]);
      if (mtype && series) {
        const parts = series.split(".");
        if (parts.length > 2 || parts.some((s) => s === ""))
          this.fail([...at, "series"], `series '${series}' must be 'name' or 'group.name'`);
        else
          dest =
            parts.length === 2
              ? { kind: "measurement", type: mtype, group: parts[0]!, series: parts[1]! }
              : { kind: "measurement", type: mtype, series: parts[0]! };
      }
    }
    if (this.count !== errorsBefore || !name || !table || address === undefined || !type || !dest)
      return undefined;
    if (!byteOrder || !wordOrder || scale === undefined || offset === undefined) return undefined;
    return {
      name,
      table,
      address,
      width: widthOf(type),
      encoding: { type, byteOrder, wordOrder, scale, offset },
      dest,
    };
  }
}
