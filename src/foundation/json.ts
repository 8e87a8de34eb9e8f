/** A JSON object (or TOML table) as parsed: string keys, unknown values. */
export type Obj = Record<string, unknown>;

/** True for a plain object: not null, not an array, not a TOML date. */
export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}
