import type { Command } from "commander";
import { registerBatch } from "./batch.ts";
import { registerBroker } from "./broker.ts";
import { registerCert } from "./cert.ts";
import { registerCompletions } from "./completions.ts";
import { registerConfig } from "./config.ts";
import { registerConnect } from "./connect.ts";
import { registerDiag } from "./diag.ts";
import { registerFlows } from "./flows.ts";
import { registerInit } from "./init.ts";
import { registerModbus } from "./modbus.ts";
import { registerMqtt } from "./mqtt.ts";
import { registerOperations } from "./operations.ts";
import { registerRun } from "./run.ts";
import { registerSerial } from "./serial.ts";

/** One line per command module; each adds its subcommands with their own --help. */
export function registerCommands(program: Command): void {
  registerRun(program);
  registerBroker(program);
  registerMqtt(program);
  registerConfig(program);
  registerCert(program);
  registerConnect(program);
  registerInit(program);
  registerBatch(program);
  registerSerial(program);
  registerOperations(program);
  registerModbus(program);
  registerFlows(program);
  registerDiag(program);
  registerCompletions(program);
}
