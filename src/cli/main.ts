#!/usr/bin/env node
/** The `ledge` command line: one entry point for every component and tool. */
import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands/index.ts";
import { VERSION_STRING } from "./version.ts";

export async function main(argv: string[]): Promise<number> {
  const program = new Command("ledge")
    .description("A lean IoT edge agent: local MQTT bus, thin-edge te/ API, cloud mappers, field drivers")
    .version(VERSION_STRING, "-V, --version", "print the version and build commit")
    .option(
      "-c, --config-dir <dir>",
      "config directory holding ledge.toml (env LEDGE_CONFIG_DIR, default /etc/ledge)",
    )
    .showHelpAfterError()
    .exitOverride();
  await registerCommands(program, argv);
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`ledge: ${(e as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`ledge: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
