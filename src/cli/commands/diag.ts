import type { Command } from "commander";
import { loadConfig } from "../../config/store.ts";
import { configDirOf } from "../context.ts";

export function registerDiag(program: Command): void {
  const diag = program.command("diag").description("diagnostics for support cases");
  diag
    .command("collect")
    .description(
      "write a tarball with versions, system facts, the config (credentials redacted), entity store, command state, queue statistics and recent logs",
    )
    .option("-o, --output <file>", "where to write it (default /tmp/ledge-diag-<device>-<time>.tar.gz)")
    .action(async (opts: { output?: string }, cmd: Command) => {
      const { collect } = await import("../diag/collect.ts");
      process.stdout.write(`${collect(loadConfig(configDirOf(cmd)), opts.output)}\n`);
    });
}
