/** modbus.toml blocks for the Modbus tests and benchmarks, written from key/value tables. */

type Value = string | number | undefined;

/** `key = value` lines in the given order, strings quoted, undefined values left out. */
function keys(entries: Record<string, Value>): string {
  return Object.entries(entries)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} = ${typeof v === "string" ? JSON.stringify(v) : v}\n`)
    .join("");
}

/** A `[[device]]` table. */
export function deviceToml(entries: Record<string, Value>): string {
  return `[[device]]\n${keys(entries)}`;
}

/** A `[[device.point]]` table. */
export function pointToml(entries: Record<string, Value>): string {
  return `[[device.point]]\n${keys(entries)}`;
}
