import { existsSync } from "node:fs";
import type { Command } from "commander";
import { formatValue } from "../../config/parse-value.ts";
import { type ConfigKey, isConfigKey, keyDef, schema } from "../../config/schema.ts";
import { ConfigFile, envName, loadConfig } from "../../config/store.ts";
import { configDirOf, UsageError } from "../context.ts";

function checkKey(key: string): ConfigKey {
  if (!isConfigKey(key))
    throw new UsageError(`unknown config key '${key}' (see \`ledge config list --all --doc\`)`);
  return key;
}

export function registerConfig(program: Command): void {
  const config = program
    .command("config")
    .description("read and edit ledge.toml (typed keys, defaults, env overrides)");

  config
    .command("get")
    .description("print a key's effective value (file, then LEDGE_<KEY> env, else default)")
    .argument("<key>", "config key, e.g. mqtt.bind.port")
    .action((key: string, _opts, cmd: Command) => {
      const k = checkKey(key);
      process.stdout.write(`${formatValue(loadConfig(configDirOf(cmd)).get(k))}\n`);
    });

  config
    .command("set")
    .description("set a key in ledge.toml (validated; the file is replaced atomically)")
    .argument("<key>", "config key")
    .argument("<value>", "value; lists as a,b,c or a JSON array")
    .action((key: string, value: string, _opts, cmd: Command) => {
      new ConfigFile(configDirOf(cmd)).set(checkKey(key), value);
    });

  config
    .command("unset")
    .description("remove a key from ledge.toml (it falls back to its default)")
    .argument("<key>", "config key")
    .action((key: string, _opts, cmd: Command) => {
      new ConfigFile(configDirOf(cmd)).unset(checkKey(key));
    });

  config
    .command("list")
    .description("list keys that are set (file or env); --all lists every key with its default")
    .option("-a, --all", "include keys at their default", false)
    .option("--doc", "print each key's type, default and documentation", false)
    .action((opts: { all: boolean; doc: boolean }, cmd: Command) => {
      const dir = configDirOf(cmd);
      // an empty list from a mistyped --config-dir would look like "nothing set"
      if (!opts.all && !existsSync(dir))
        throw new Error(
          `config dir ${dir} does not exist (--config-dir, LEDGE_CONFIG_DIR; --all lists the defaults)`,
        );
      const cfg = loadConfig(dir);
      for (const key of Object.keys(schema) as ConfigKey[]) {
        if (!opts.all && cfg.source(key) === "default") continue;
        const def = keyDef(key);
        if (opts.doc) {
          const choices = def.choices ? ` one of: ${def.choices.join(", ")};` : "";
          process.stdout.write(
            `${key}  (${def.type};${choices} default ${formatValue(def.default)}; env ${envName(key)})\n    ${def.doc}\n`,
          );
        } else {
          process.stdout.write(`${key}=${formatValue(cfg.get(key))}\n`);
        }
      }
    });
}
