/**
 * `${params.a.b}` and `${mapper.a.b}` substitution in flow files (TEDGE-FACTS §10.2): a value that
 * is exactly one placeholder takes the parameter's own JSON type; placeholders inside a longer
 * string are concatenated as text. Parameters come from `params.toml` over `params.toml.template`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";

export type Vars = { params: Record<string, unknown>; mapper: Record<string, unknown> };

const WHOLE = /^\$\{(params|mapper)\.([A-Za-z0-9_.-]+)\}$/;
const PART = /\$\{(params|mapper)\.([A-Za-z0-9_.-]+)\}/g;

function lookup(vars: Vars, scope: "params" | "mapper", path: string, where: string): unknown {
  let v: unknown = vars[scope];
  for (const k of path.split(".")) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, k))
      throw new Error(`${where}: \${${scope}.${path}} is not defined`);
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** Replaces placeholders in every string of a TOML value, recursively. */
export function substitute(value: unknown, vars: Vars, where: string): unknown {
  if (typeof value === "string") {
    const whole = WHOLE.exec(value);
    if (whole) return lookup(vars, whole[1] as "params" | "mapper", whole[2] ?? "", where);
    return value.replace(PART, (_m, scope: "params" | "mapper", path: string) => {
      const v = lookup(vars, scope, path, where);
      return typeof v === "string" ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, vars, `${where}[${i}]`));
  if (value !== null && typeof value === "object" && !(value instanceof Date))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, vars, `${where}.${k}`)]),
    );
  return value;
}

function readToml(path: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      b && v && typeof b === "object" && typeof v === "object" && !Array.isArray(b) && !Array.isArray(v)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** The parameters of the flows in `dir`: `params.toml` (the user's) over `params.toml.template`. */
export function loadParams(dir: string): Record<string, unknown> {
  return merge(readToml(join(dir, "params.toml.template")) ?? {}, readToml(join(dir, "params.toml")) ?? {});
}

/** `mappers/<mapper>/mapper.toml`, for `${mapper.*}`; empty when there is none. */
export function loadMapperToml(mapperDir: string): Record<string, unknown> {
  return readToml(join(mapperDir, "mapper.toml")) ?? {};
}

export { merge as mergeConfig };
