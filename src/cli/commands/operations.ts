/**
 * `ledge operations`: what operations ledge knows (built-in, workflow files, Cumulocity operation
 * files), a check of a workflow or operation file without running it, and the persisted state
 * of the commands in flight.
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Command } from "commander";
import { CommandStore } from "../../agent/commands/store.ts";
import { builtinWorkflows } from "../../agent/workflows/builtin.ts";
import { describeError, parseWorkflow } from "../../agent/workflows/definition.ts";
import { WorkflowRegistry } from "../../agent/workflows/registry.ts";
import { createLogger } from "../../foundation/logger.ts";
import { readOperationFiles } from "../../mappers/c8y/custom-operations.ts";
import { parseOperationFile } from "../../mappers/c8y/operation-files.ts";
import { configOf, UsageError } from "../context.ts";

const quiet = createLogger({ level: "error" });

export function registerOperations(program: Command): void {
  const ops = program
    .command("operations")
    .description("operation workflows and Cumulocity operation files: list, check, commands in flight");

  ops
    .command("list")
    .description("operations and workflows ledge knows, with their source (builtin or file)")
    .option("--json", "print JSON")
    .action((opts: { json?: boolean }, cmd: Command) => {
      const config = configOf(cmd);
      const registry = new WorkflowRegistry({
        dir: join(config.dir, "operations"),
        inUseDir: join(config.dataDir, "agent", "workflows-in-use"),
        builtins: builtinWorkflows(),
        log: quiet,
      });
      registry.load();
      const c8y = readOperationFiles(join(config.dir, "operations", "c8y"), quiet);
      const rows = [
        ...registry.list().map((w) => ({
          kind: "workflow",
          operation: w.operation,
          source: w.source,
          version: w.version === "builtin" ? "builtin" : w.version.slice(0, 12),
          ...(w.error ? { error: w.error } : {}),
        })),
        ...c8y.map((f) => ({
          kind: "c8y",
          operation: f.name,
          source: join(config.dir, "operations", "c8y", f.name),
          version: f.builtin ? "mapper" : f.workflow ? `workflow ${f.workflow.operation}` : (f.command ?? ""),
        })),
      ];
      if (opts.json) return console.log(JSON.stringify(rows, null, 2));
      for (const r of rows)
        console.log(
          `${r.kind.padEnd(9)}${r.operation.padEnd(26)}${r.source}${"error" in r ? `  ERROR ${r.error}` : ""}`,
        );
    });

  ops
    .command("check <file>")
    .description("check a workflow file (*.toml) or a Cumulocity operation file without running it")
    .action((file: string) => {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
      }
      if (file.endsWith(".toml")) {
        const p = parseWorkflow(text, file);
        if (!p.ok) throw new UsageError(describeError(p.error));
        const states = Object.keys(p.value.states);
        console.log(
          `${file}: workflow '${p.value.operation}' OK (${states.length} states: ${states.join(", ")})`,
        );
        return;
      }
      const p = parseOperationFile(basename(file), text);
      if (!p.ok) throw new UsageError(`${file}: ${p.error}`);
      const f = p.value;
      const how = f.builtin
        ? "handled by the mapper"
        : f.onMessage
          ? `SmartREST ${f.onMessage} on ${f.topic}`
          : `JSON fragment ${f.onFragment} on ${f.topic}`;
      console.log(`${file}: operation '${f.name}' OK (${how})`);
    });

  ops
    .command("commands")
    .description("persisted state of the agent's commands (in flight unless --all)")
    .option("--all", "also finished commands the requester has not cleared")
    .option("--json", "print JSON")
    .action((opts: { all?: boolean; json?: boolean }, cmd: Command) => {
      const config = configOf(cmd);
      const store = new CommandStore(config.dataDir);
      const r = store.load();
      if (r.error) console.error(`ledge: ${r.error}`);
      const recs = store
        .list()
        .filter((c) => opts.all || (c.status !== "successful" && c.status !== "failed"));
      if (opts.json) return console.log(JSON.stringify(recs, null, 2));
      if (!recs.length) return console.log("no commands in flight");
      for (const c of recs) {
        const since = new Date(c.since ?? c.startedAt).toISOString();
        const extra = [
          c.version ? `version ${c.version === "builtin" ? "builtin" : c.version.slice(0, 12)}` : "",
          c.sub?.topic ? `awaiting ${c.sub.topic}` : c.sub?.builtin ? `running builtin:${c.sub.builtin}` : "",
          c.phase ? `phase ${c.phase}` : "",
        ].filter(Boolean);
        console.log(
          `${c.topic}  ${c.status}  since ${since}${extra.length ? `  (${extra.join(", ")})` : ""}`,
        );
      }
    });
}
