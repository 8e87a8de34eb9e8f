/**
 * One `[[device.point]]` of `modbus.toml`: where the value is (table, address, type and its
 * encoding) and where it goes (a measurement series, an alarm or a twin fragment). Every problem is
 * reported to the file's collector; an invalid point reads as undefined.
 */
import type { Severity } from "../../api/payloads.ts";
import type { DeviceTable } from "../common/device-file.ts";
import { isBitTable, isIntegerType, TABLES, VALUE_TYPES, type ValueType, widthOf } from "./codec.ts";
import type { Condition, Destination, PointConfig } from "./config.ts";

const CONDITIONS: readonly Condition[] = [">", ">=", "<", "<=", "==", "!="];
const SEVERITIES: readonly Severity[] = ["critical", "major", "minor", "warning"];
const ALARM_KEYS = ["alarm", "condition", "threshold", "severity", "text"];
const POINT_KEYS = [
  "name",
  "table",
  "address",
  "type",
  "byte_order",
  "word_order",
  "scale",
  "offset",
  "length",
  "bit",
  "bits",
  "measurement",
  "series",
  ...ALARM_KEYS,
  "twin",
];

/** A string that becomes one topic level (a measurement or alarm type, a twin fragment). */
export function topicPart(
  t: DeviceTable,
  key: string,
  o: { default?: string; optional?: boolean } = {},
): string | undefined {
  return t.str(key, { ...o, pattern: /^[^/#+]+$/, hint: "one topic level (no '/', '+' or '#')" });
}

/** Reports each of `keys` that is set, with why it does not apply. */
function forbid(t: DeviceTable, keys: readonly string[], why: string): void {
  for (const k of keys) if (t.has(k)) t.report(k, `'${k}' ${why}`);
}

/** `bit = n` (one bit) or `bit = n` with `bits = count`: a field inside an integer point. */
function readBits(t: DeviceTable, type: ValueType | undefined): { start: number; count: number } | undefined {
  if (!t.has("bit")) {
    forbid(t, ["bits"], "needs 'bit' (the lowest bit of the field)");
    return undefined;
  }
  if (type && !isIntegerType(type)) {
    t.report("bit", `'bit' needs an integer type, not ${type}`);
    return undefined;
  }
  const size = type ? widthOf(type) * 16 : 16;
  const start = t.int("bit", { min: 0, max: size - 1 });
  const count = t.int("bits", { default: 1, min: 1, max: size });
  if (start === undefined || count === undefined) return undefined;
  if (start + count > size) {
    t.report("bits", `bits ${start}..${start + count - 1} lie outside a ${size}-bit ${type}`);
    return undefined;
  }
  return { start, count };
}

function alarmDest(t: DeviceTable, name: string | undefined, oneBit: boolean): Destination | undefined {
  forbid(t, ["measurement", "series"], "does not apply to an alarm point");
  const type = topicPart(t, "alarm");
  // a single bit alarms like a bool: raised while it is 1
  const condition = t.oneOf("condition", CONDITIONS, { optional: true }) ?? (oneBit ? "==" : undefined);
  if (!t.has("condition") && !oneBit)
    t.report("condition", "an alarm point needs 'condition' (>, >=, <, <=, ==, !=) and 'threshold'");
  if (!t.has("threshold") && !oneBit) t.report("threshold", "an alarm point needs 'threshold'");
  const threshold = t.num("threshold", { optional: true }) ?? (oneBit ? 1 : undefined);
  const severity = t.oneOf("severity", SEVERITIES, { default: "major" });
  const text = t.str("text", { default: `${name ?? "point"} ${condition ?? ""} ${threshold ?? ""}`.trim() });
  if (!type || !condition || threshold === undefined || !severity || !text) return undefined;
  return { kind: "alarm", type, condition, threshold, severity, text };
}

function measurementDest(
  t: DeviceTable,
  name: string | undefined,
  defMeasurement: string,
): Destination | undefined {
  forbid(t, ALARM_KEYS.slice(1), "only applies to an alarm point (set 'alarm')");
  const type = topicPart(t, "measurement", { default: defMeasurement });
  const series =
    name === undefined ? t.str("series", { optional: true }) : t.str("series", { default: name });
  if (!type || !series) return undefined;
  const [group, leaf, ...deeper] = series.split(".");
  if (deeper.length > 0 || group === "" || leaf === "") {
    t.report("series", `series '${series}' must be 'name' or 'group.name'`);
    return undefined;
  }
  return leaf === undefined
    ? { kind: "measurement", type, series: group! }
    : { kind: "measurement", type, group, series: leaf };
}

export function readPoint(t: DeviceTable, defMeasurement: string): PointConfig | undefined {
  const before = t.file.problems.length;
  t.keys(POINT_KEYS);
  const name = topicPart(t, "name");
  const table = t.oneOf("table", TABLES);
  const address = t.int("address", { min: 0, max: 65535 });
  const type = t.oneOf<ValueType>("type", VALUE_TYPES, {
    default: table && isBitTable(table) ? "bool" : "uint16",
  });
  const byteOrder = t.oneOf("byte_order", ["big", "little"] as const, { default: "big" });
  const wordOrder = t.oneOf("word_order", ["big", "little"] as const, { default: "big" });
  const scale = t.num("scale", { default: 1 });
  const offset = t.num("offset", { default: 0 });
  if (scale === 0) t.report("scale", "'scale' must not be 0");
  if (table && type && isBitTable(table) && type !== "bool")
    t.report("type", `table '${table}' holds bits: type must be bool, not ${type}`);
  let length: number | undefined;
  if (type === "string") length = t.int("length", { min: 1, max: 123 });
  else forbid(t, ["length"], "(registers) only applies to type string");
  const bits = readBits(t, type);
  const width = type ? widthOf(type, length ?? 1) : 1;
  if (address !== undefined && type && address + width > 65536)
    t.report("address", `${type} at ${address} runs past address 65535`);
  let dest: Destination | undefined;
  if (type === "string" || t.has("twin")) {
    forbid(
      t,
      ["measurement", "series", ...ALARM_KEYS],
      "does not apply to a twin point (strings are published on the twin)",
    );
    const fragment =
      name === undefined ? topicPart(t, "twin", { optional: true }) : topicPart(t, "twin", { default: name });
    if (fragment) dest = { kind: "twin", fragment };
  } else if (t.has("alarm")) dest = alarmDest(t, name, type === "bool" || bits?.count === 1);
  else dest = measurementDest(t, name, defMeasurement);
  if (t.file.problems.length !== before || !name || !table || address === undefined || !type || !dest)
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
