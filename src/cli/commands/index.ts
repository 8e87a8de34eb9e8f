import type { Command } from "commander";
import { registerBatch } from "./batch.ts";
import { registerBroker } from "./broker.ts";
import { registerConfig } from "./config.ts";
import { registerInit } from "./init.ts";
import { registerMqtt } from "./mqtt.ts";
import { registerRun } from "./run.ts";

/** One line per command module; each adds its subcommands with their own --help. */
export function registerCommands(program: Command): void {
  registerRun(program);
  registerBroker(program);
  registerMqtt(program);
  registerConfig(program);
  registerInit(program);
  registerBatch(program);
}
