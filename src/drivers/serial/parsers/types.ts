/**
 * Line parsers for serial sensors: pure functions from one text line to Thin Edge JSON measurement
 * values. A line that carries nothing to report (an NMEA sentence type we do not map, a GPS without
 * a fix) is `{ ok: true, values: undefined }`; a line that cannot be understood is `{ ok: false }` and
 * is counted as bad by the driver.
 */
export type Values = Record<string, number | Record<string, number>>;

/** `time`: the measurement time the device reported (ms since the epoch), when it reported one. */
export type ParseResult =
  | { ok: true; values: Values | undefined; time?: number }
  | { ok: false; error: string };

/** `now`: the read time (ms), for parsers that complete a device time with it (NMEA GGA's date). */
export type LineParser = (line: string, now?: number) => ParseResult;

export const bad = (error: string): ParseResult => ({ ok: false, error });
export const nothing: ParseResult = { ok: true, values: undefined };

/** Strict decimal number (no hex, no empty string, no `Infinity`), as devices print them. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function toNumber(text: string): number | undefined {
  const t = text.trim();
  if (!NUMBER.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Puts `value` at `name`, where `group<sep>series` nests one level (Thin Edge JSON allows exactly
 * one). Returns an error for a clash between a plain series and a group of the same name.
 */
export function put(values: Values, name: string, value: number, sep: string): string | undefined {
  const at = sep ? name.indexOf(sep) : -1;
  if (at <= 0) {
    if (typeof values[name] === "object") return `'${name}' is both a series and a group`;
    values[name] = value;
    return undefined;
  }
  const group = name.slice(0, at);
  const series = name.slice(at + sep.length);
  if (series === "" || series.includes(sep)) return `'${name}' nests deeper than one group`;
  const g = values[group];
  if (typeof g === "number") return `'${group}' is both a series and a group`;
  const obj = g ?? {};
  obj[series] = value;
  values[group] = obj;
  return undefined;
}
