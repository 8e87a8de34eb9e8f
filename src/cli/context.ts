import type { Command } from "commander";
import { type Config, loadConfig, resolveConfigDir } from "../config/store.ts";
import { createLogger, type Level, type Logger } from "../foundation/logger.ts";

/** The global `--config-dir` from any subcommand. */
export function configDirOf(cmd: Command): string {
  return resolveConfigDir(cmd.optsWithGlobals().configDir as string | undefined);
}

export function configOf(cmd: Command): Config {
  return loadConfig(configDirOf(cmd));
}

export function loggerOf(config: Config): Logger {
  return createLogger({ level: config.get("log.level") as Level, levels: config.get("log.levels") });
}

/** A failure the user can fix: printed as `ledge: <message>` with exit code 1, no stack. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A commander option parser for a number > 0 (`--count`, `--timeout` ...): anything else is a UsageError. */
export function positiveNumber(name: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0)
      throw new UsageError(`${name} must be a positive number, got '${text}'`);
    return n;
  };
}
