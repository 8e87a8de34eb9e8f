import type { Command } from "commander";

type Register = (program: Command) => void;

/**
 * Every command module, in help order, each behind `import()`: a command line loads and registers
 * only the module of the command it runs (`ledge run` does not parse the other thirteen), which is
 * most of the CLI's start-up time and memory (bench/RESULTS.md, footprint).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => (await import("./run.ts")).registerRun,
  broker: async () => (await import("./broker.ts")).registerBroker,
  mqtt: async () => (await import("./mqtt.ts")).registerMqtt,
  config: async () => (await import("./config.ts")).registerConfig,
  cert: async () => (await import("./cert.ts")).registerCert,
  connect: async () => (await import("./connect.ts")).registerConnect,
  init: async () => (await import("./init.ts")).registerInit,
  batch: async () => (await import("./batch.ts")).registerBatch,
  serial: async () => (await import("./serial.ts")).registerSerial,
  operations: async () => (await import("./operations.ts")).registerOperations,
  modbus: async () => (await import("./modbus.ts")).registerModbus,
  flows: async () => (await import("./flows.ts")).registerFlows,
  diag: async () => (await import("./diag.ts")).registerDiag,
  completions: async () => (await import("./completions.ts")).registerCompletions,
};

/** Commands registered by another command's module. */
const MODULE_OF: Record<string, string> = { disconnect: "connect", reconnect: "connect" };

/** Global options that take a value (main.ts): their value is not a command name. */
const VALUED = new Set(["-c", "--config-dir"]);

/** The module of the command `argv` runs, if it names one; `completions` describes all of them. */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (VALUED.has(arg)) i++;
    else if (!arg.startsWith("-")) {
      const module = MODULE_OF[arg] ?? arg;
      return module in COMMANDS && module !== "completions" ? module : undefined;
    }
  }
  return undefined;
}

/**
 * Registers the command `argv` runs, or every command (help, completions, an unknown name that
 * commander answers with suggestions).
 */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const only = commandOf(argv);
  const names = only ? [only] : Object.keys(COMMANDS);
  const registers = await Promise.all(names.map((n) => (COMMANDS[n] as () => Promise<Register>)()));
  for (const register of registers) register(program);
}
