import { type ConfigKey, keyDef } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Checks a value (from TOML or already typed) against its key's definition. */
export function validateValue(key: ConfigKey, value: unknown): unknown {
  const def = keyDef(key);
  const bad = (why: string) => new ConfigError(`invalid value for '${key}': ${why}`);
  switch (def.type) {
    case "string":
      if (typeof value !== "string") throw bad(`expected a string, got ${describe(value)}`);
      break;
    case "integer":
      if (typeof value === "bigint") value = Number(value);
      if (typeof value !== "number" || !Number.isInteger(value))
        throw bad(`expected an integer, got ${describe(value)}`);
      break;
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value))
        throw bad(`expected a number, got ${describe(value)}`);
      break;
    case "boolean":
      if (typeof value !== "boolean") throw bad(`expected true or false, got ${describe(value)}`);
      break;
    case "string[]":
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
        throw bad(`expected a list of strings, got ${describe(value)}`);
      break;
  }
  if (def.choices && !def.choices.includes(value)) throw bad(`expected one of ${def.choices.join(", ")}`);
  const why = def.check?.(value);
  if (why) throw bad(why);
  return value;
}

/** Parses a command-line or environment string into the key's type. */
export function parseValue(key: ConfigKey, text: string): unknown {
  const def = keyDef(key);
  const bad = (why: string) => new ConfigError(`invalid value for '${key}': ${why}`);
  switch (def.type) {
    case "string":
      return validateValue(key, text);
    case "integer": {
      if (!/^-?\d+$/.test(text.trim())) throw bad(`expected an integer, got '${text}'`);
      return validateValue(key, Number(text));
    }
    case "number": {
      const n = Number(text);
      if (text.trim() === "" || !Number.isFinite(n)) throw bad(`expected a number, got '${text}'`);
      return validateValue(key, n);
    }
    case "boolean": {
      if (text === "true") return true;
      if (text === "false") return false;
      throw bad(`expected true or false, got '${text}'`);
    }
    case "string[]": {
      const t = text.trim();
      if (t.startsWith("[")) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(t);
        } catch {
          throw bad(`expected a JSON list of strings or comma-separated values, got '${text}'`);
        }
        return validateValue(key, parsed);
      }
      return validateValue(key, t === "" ? [] : t.split(",").map((s) => s.trim()));
    }
  }
}

export function formatValue(value: unknown): string {
  return Array.isArray(value) ? JSON.stringify(value) : String(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  return `${typeof value} ${JSON.stringify(value)}`;
}
