import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { parse, stringify } from "smol-toml";
import { removeStaleTemps, writeFileAtomic } from "../foundation/files.ts";
import { ConfigError, parseValue, validateValue } from "./parse-value.ts";
import {
  type ConfigKey,
  type ConfigValue,
  type ConfigValues,
  isConfigKey,
  keyDef,
  schema,
} from "./schema.ts";

export const CONFIG_FILE = "ledge.toml";
export const DEFAULT_CONFIG_DIR = "/etc/ledge";

/** The config dir from the flag, then LEDGE_CONFIG_DIR, then the default. */
export function resolveConfigDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.LEDGE_CONFIG_DIR ?? DEFAULT_CONFIG_DIR;
}

/** `mqtt.bind.port` -> `LEDGE_MQTT_BIND_PORT`. */
export function envName(key: ConfigKey): string {
  return `LEDGE_${key.replace(/[.]/g, "_").toUpperCase()}`;
}

export type Source = "default" | "file" | "env";

/**
 * The effective configuration: defaults, overlaid by `ledge.toml`, overlaid by `LEDGE_*` variables.
 * Immutable once loaded; `ConfigFile` edits the file.
 */
export class Config {
  constructor(
    readonly dir: string,
    private readonly values: ConfigValues,
    private readonly sources: Record<ConfigKey, Source>,
  ) {}

  get<K extends ConfigKey>(key: K): ConfigValue<K> {
    return this.values[key];
  }

  source(key: ConfigKey): Source {
    return this.sources[key];
  }

  /** A path from the config, resolved against the config dir when relative. */
  path(key: ConfigKey): string {
    const p = String(this.values[key]);
    return isAbsolute(p) ? p : join(this.dir, p);
  }

  get dataDir(): string {
    return this.path("data.path");
  }

  /** A copy with some values replaced (tests, `ledge connect --test`). */
  with(overrides: Partial<ConfigValues>): Config {
    const values = { ...this.values };
    const sources = { ...this.sources };
    for (const [k, v] of Object.entries(overrides)) {
      if (!isConfigKey(k)) throw new ConfigError(`unknown config key '${k}'`);
      (values as Record<string, unknown>)[k] = validateValue(k, v);
      sources[k] = "env";
    }
    return new Config(this.dir, values, sources);
  }
}

export function loadConfig(dir: string, env: NodeJS.ProcessEnv = process.env): Config {
  const file = new ConfigFile(dir);
  const fromFile = file.read();
  const values = {} as Record<string, unknown>;
  const sources = {} as Record<ConfigKey, Source>;
  for (const key of Object.keys(schema) as ConfigKey[]) {
    const envValue = env[envName(key)];
    if (envValue !== undefined) {
      try {
        values[key] = parseValue(key, envValue);
      } catch (e) {
        throw new ConfigError(`${envName(key)}: ${(e as Error).message}`);
      }
      sources[key] = "env";
    } else if (fromFile.has(key)) {
      values[key] = fromFile.get(key);
      sources[key] = "file";
    } else {
      values[key] = keyDef(key).default;
      sources[key] = "default";
    }
  }
  return new Config(dir, values as ConfigValues, sources);
}

/** The TOML file itself: read with validation, edited atomically (temp file, fsync, rename). */
export class ConfigFile {
  readonly path: string;
  constructor(readonly dir: string) {
    this.path = join(dir, CONFIG_FILE);
  }

  read(): Map<ConfigKey, unknown> {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return new Map();
      throw new ConfigError(`cannot read ${this.path}: ${(e as Error).message}`);
    }
    return parseConfigText(text, this.path);
  }

  set(key: ConfigKey, text: string): void {
    const value = parseValue(key, text);
    // "" means "not set" for such keys (device.id before `ledge cert create`): unset says so
    if (value === "" && keyDef(key).default === "")
      throw new ConfigError(
        `invalid value for '${key}': must not be empty (\`ledge config unset ${key}\` clears it)`,
      );
    const current = this.read();
    current.set(key, value);
    this.write(current);
  }

  unset(key: ConfigKey): void {
    const current = this.read();
    current.delete(key);
    this.write(current);
  }

  private write(values: Map<ConfigKey, unknown>): void {
    // what a `config set` killed between writing and renaming left behind
    removeStaleTemps(this.path, ".tmp-");
    const doc: Record<string, unknown> = {};
    for (const [key, value] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
      const parts = key.split(".");
      let node = doc;
      for (const part of parts.slice(0, -1)) {
        node[part] ??= {};
        node = node[part] as Record<string, unknown>;
      }
      node[parts.at(-1)!] = value;
    }
    // Not world-readable: it may hold mqtt.client.password.
    writeFileAtomic(this.path, stringify(doc) + "\n", 0o640);
  }
}

/**
 * Parses and validates a whole ledge.toml, as `ledge run` reads it: TOML syntax, known keys, each
 * value's type and range. Throws ConfigError naming `file` and the reason.
 */
export function parseConfigText(text: string, file = CONFIG_FILE): Map<ConfigKey, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${file}: ${(e as Error).message.split("\n")[0]}`);
  }
  const out = new Map<ConfigKey, unknown>();
  flatten(doc, "", (key, value) => {
    if (!isConfigKey(key)) throw new ConfigError(`${file}: unknown config key '${key}'`);
    try {
      out.set(key, validateValue(key, value));
    } catch (e) {
      throw new ConfigError(`${file}: ${(e as Error).message}`);
    }
  });
  return out;
}

function flatten(
  node: Record<string, unknown>,
  prefix: string,
  visit: (key: string, value: unknown) => void,
): void {
  for (const [k, v] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (
      v !== null &&
      typeof v === "object" &&
      !Array.isArray(v) &&
      !(v instanceof Date) &&
      !isConfigKey(key)
    ) {
      flatten(v as Record<string, unknown>, key, visit);
    } else {
      visit(key, v);
    }
  }
}
