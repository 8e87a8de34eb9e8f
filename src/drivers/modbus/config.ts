/**
 * The Modbus device description (`modbus.toml`): parsed and validated as a whole, every error with
 * file, line and reason, so that nothing starts half-configured. Pure apart from `loadModbusConfig`.
 */
import type { Severity } from "../../api/payloads.ts";
import { readChildName } from "../common/child-device.ts";
import { DeviceFile, type DeviceTable, Unique } from "../common/device-file.ts";
import { LINE_KEYS, readSerialLine } from "../common/serial/line-config.ts";
import type { Parity } from "../common/serial/transport.ts";
import { fileError, readDeviceFile } from "../common/toml-file.ts";
import type { Encoding, Table } from "./codec.ts";
import { MAX_READ_BITS, MAX_READ_REGISTERS } from "./planner.ts";
import { readPoint, topicPart } from "./point-config.ts";

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

/** Polling settings a `[defaults]` table gives every device, each with its range and default. */
const POLLING = {
  poll_interval_s: { min: 0.01, max: 86400, default: 10 },
  timeout_ms: { min: 10, max: 60000, default: 1000, integer: true },
  retries: { min: 0, max: 10, default: 1, integer: true },
  max_gap: { min: 0, max: MAX_READ_BITS, default: 8, integer: true },
  max_read_registers: { min: 1, max: MAX_READ_REGISTERS, default: MAX_READ_REGISTERS, integer: true },
  max_read_bits: { min: 1, max: MAX_READ_BITS, default: MAX_READ_BITS, integer: true },
  down_after: { min: 1, max: 1000, default: 1, integer: true },
  backoff_max_s: { min: 0, max: 86400, default: 60 },
} as const;
type PollingKey = keyof typeof POLLING;
type Polling = Record<PollingKey, number>;
const POLLING_KEYS = Object.keys(POLLING) as PollingKey[];

const DEVICE_KEYS = [
  "name",
  "type",
  "transport",
  "host",
  "port",
  "serial_port",
  ...LINE_KEYS,
  "unit_id",
  ...POLLING_KEYS,
  "measurement",
  "writes",
  "point",
];

/**
 * The polling settings of a table; `inherited` fills what it leaves out (for `[defaults]` the
 * documented defaults, for a device `[defaults]`). An invalid value is reported once, where it is
 * written, and the inherited one stands in.
 */
function readPolling(t: DeviceTable, inherited: Polling): Polling {
  const out = { ...inherited };
  for (const k of POLLING_KEYS) {
    const { integer, ...range } = { integer: false, ...POLLING[k] };
    const o = { ...range, default: inherited[k] };
    out[k] = (integer ? t.int(k, o) : t.num(k, o)) ?? inherited[k];
  }
  return out;
}

function readTransport(t: DeviceTable): Transport | undefined {
  const kind = t.oneOf("transport", ["tcp", "rtu"] as const);
  if (kind === "tcp") {
    for (const k of ["serial_port", ...LINE_KEYS])
      if (t.has(k)) t.report(k, `'${k}' does not apply to transport 'tcp'`);
    const host = t.str("host");
    const port = t.int("port", { default: 502, min: 1, max: 65535 });
    return host && port ? { kind, host, port } : undefined;
  }
  if (kind === "rtu") {
    for (const k of ["host", "port"]) if (t.has(k)) t.report(k, `'${k}' does not apply to transport 'rtu'`);
    const line = readSerialLine(t, "serial_port", { min: 7, max: 8 });
    return line && { kind, ...line, dataBits: line.dataBits as 7 | 8 };
  }
  return undefined;
}

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

/** One serial line, one setting: devices sharing a port share its baud rate and framing. */
class LineSettings {
  private readonly seen = new Map<string, { line: string; at: number }>();

  check(t: DeviceTable, transport: Transport | undefined): void {
    if (transport?.kind !== "rtu") return;
    const { path, baudRate, dataBits, parity, stopBits } = transport;
    const line = `${baudRate} ${dataBits}${parity[0]!.toUpperCase()}${stopBits}`;
    const first = this.seen.get(path);
    if (!first) this.seen.set(path, { line, at: t.file.lineOf([...t.path, "baud"]) });
    else if (first.line !== line)
      t.report("baud", `serial port ${path} is set to ${line} here but ${first.line} on line ${first.at}`);
  }
}

/**
 * One `[[device]]`. Where a value is invalid its problem is recorded and a placeholder stands in:
 * the file is rejected as a whole, so the placeholder never reaches a poller.
 */
function device(t: DeviceTable, defaults: Polling): DeviceConfig {
  t.keys(DEVICE_KEYS);
  const name = readChildName(t);
  const transport = readTransport(t);
  // RTU unit 0 is broadcast: nobody answers a read sent to it
  const [min, max] = t.raw("transport") === "tcp" ? [0, 255] : [1, 247];
  const unitId = t.int("unit_id", { default: 1, min, max });
  const p = readPolling(t, defaults);
  const measurement = topicPart(t, "measurement", { default: "modbus" }) ?? "modbus";
  const points = t.tables("point");
  const raw = t.raw("point");
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0))
    t.report(undefined, "a device needs at least one [[device.point]]");
  const pointNames = new Unique("name");
  return {
    name: name ?? "",
    type: t.str("type", { default: "modbus-device" }) ?? "",
    unitId: unitId ?? 1,
    transport: transport ?? { kind: "tcp", host: "", port: 0 },
    pollIntervalMs: Math.round(p.poll_interval_s * 1000),
    timeoutMs: p.timeout_ms,
    retries: p.retries,
    maxGap: p.max_gap,
    maxRegisters: p.max_read_registers,
    maxBits: p.max_read_bits,
    downAfter: p.down_after,
    backoffMaxMs: Math.round(p.backoff_max_s * 1000),
    writes: t.bool("writes", { default: true }) ?? true,
    points: points.flatMap((pt) => {
      pointNames.check(pt);
      return readPoint(pt, measurement) ?? [];
    }),
  };
}

/** Parses and validates a whole modbus.toml; throws a DeviceFileError with every problem. */
export function parseModbusConfig(text: string, file = "modbus.toml"): ModbusConfig {
  const f = DeviceFile.parse(file, text);
  const root = f.root();
  root.keys(["defaults", "device"]);
  const defaultsTable = root.sub("defaults");
  defaultsTable?.keys(POLLING_KEYS);
  const none = Object.fromEntries(POLLING_KEYS.map((k) => [k, POLLING[k].default])) as Polling;
  const defaults = defaultsTable ? readPolling(defaultsTable, none) : none;
  if (!root.has("device")) root.report(undefined, "no [[device]] defined");
  const names = new Unique("name");
  const lines = new LineSettings();
  const devices = root.tables("device").map((t) => {
    names.check(t);
    const d = device(t, defaults);
    lines.check(t, d.transport);
    return d;
  });
  f.check();
  return { file, devices };
}
