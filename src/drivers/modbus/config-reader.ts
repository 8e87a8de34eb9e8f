/**
 * Typed readers for the values of `modbus.toml`: each reports a problem at the value's path (turned
 * into a line by the caller) and returns undefined, so that one pass collects every error.
 */
import type { Severity } from "../../api/payloads.ts";
import type { Obj } from "../../foundation/json.ts";
import { BAUD_RATES } from "../common/serial/transport.ts";
import type { TomlPath } from "../common/toml-file.ts";
import { isBitTable, isIntegerType, TABLES, VALUE_TYPES, type ValueType, widthOf } from "./codec.ts";
import type { Condition, Destination, PointConfig, Transport } from "./config.ts";

const CONDITIONS: readonly Condition[] = [">", ">=", "<", "<=", "==", "!="];
const SEVERITIES: readonly Severity[] = ["critical", "major", "minor", "warning"];
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
  "length",
  "bit",
  "bits",
  "twin",
]);

export class Reader {
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
    const length =
      type === "string"
        ? this.int(p.length, [...at, "length"], 1, 123)
        : p.length === undefined
          ? undefined
          : this.fail([...at, "length"], "'length' (registers) only applies to type string");
    const bits = this.readBits(p, at, type);
    const width = type ? widthOf(type, length ?? 1) : 1;
    if (address !== undefined && type && address + width > 65536)
      this.fail([...at, "address"], `${type} at ${address} runs past address 65535`);
    // a single bit alarms like a bool: raised while it is 1
    const oneBit = type === "bool" || bits?.count === 1;
    let dest: Destination | undefined;
    if (type === "string" || p.twin !== undefined) {
      for (const k of ["measurement", "series", "alarm", "condition", "threshold", "severity", "text"])
        if (p[k] !== undefined)
          this.fail([...at, k], `'${k}' does not apply to a twin point (strings are published on the twin)`);
      const fragment = p.twin === undefined ? name : this.topicPart(p.twin, [...at, "twin"]);
      if (fragment) dest = { kind: "twin", fragment };
    } else if (p.alarm !== undefined) {
      for (const k of ["measurement", "series"])
        if (p[k] !== undefined) this.fail([...at, k], `'${k}' does not apply to an alarm point`);
      const alarmType = this.topicPart(p.alarm, [...at, "alarm"]);
      const condition =
        p.condition === undefined
          ? oneBit
            ? "=="
            : undefined
          : this.oneOf(p.condition, [...at, "condition"], CONDITIONS);
      if (condition === undefined && p.condition === undefined)
        this.fail(
          [...at, "condition"],
          "an alarm point needs 'condition' (>, >=, <, <=, ==, !=) and 'threshold'",
        );
      if (p.threshold === undefined && !oneBit)
        this.fail([...at, "threshold"], "an alarm point needs 'threshold'");
      const threshold =
        p.threshold === undefined ? (oneBit ? 1 : undefined) : this.num(p.threshold, [...at, "threshold"]);
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
      width,
      encoding: {
        type,
        byteOrder,
        wordOrder,
        scale,
        offset,
        ...(length ? { length } : {}),
        ...(bits ? { bits } : {}),
      },
      dest,
    };
  }

  /** `bit = n` (one bit) or `bit = n` with `bits = count`: a field inside an integer point. */
  private readBits(
    p: Obj,
    at: TomlPath,
    type: ValueType | undefined,
  ): { start: number; count: number } | undefined {
    if (p.bit === undefined) {
      if (p.bits !== undefined)
        this.fail([...at, "bits"], "'bits' needs 'bit' (the lowest bit of the field)");
      return undefined;
    }
    if (type && !isIntegerType(type)) {
      this.fail([...at, "bit"], `'bit' needs an integer type, not ${type}`);
      return undefined;
    }
    const size = type ? widthOf(type) * 16 : 16;
    const start = this.int(p.bit, [...at, "bit"], 0, size - 1);
    const count = p.bits === undefined ? 1 : this.int(p.bits, [...at, "bits"], 1, size);
    if (start === undefined || count === undefined) return undefined;
    if (start + count > size) {
      this.fail([...at, "bits"], `bits ${start}..${start + count - 1} lie outside a ${size}-bit ${type}`);
      return undefined;
    }
    return { start, count };
  }
}
