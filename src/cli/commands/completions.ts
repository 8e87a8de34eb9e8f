import type { Command } from "commander";
import { RUN_NAMES } from "../../app/components.ts";
import { schema } from "../../config/schema.ts";
import { completionScript, completionTree, SHELLS, type Shell } from "../completions.ts";
import { UsageError } from "../context.ts";

export function registerCompletions(program: Command): void {
  program
    .command("completions")
    .description(
      `print the shell completion script (${SHELLS.join(", ")}); see the README for where to put it`,
    )
    .argument("<shell>", SHELLS.join(" | "))
    .action((shell: string) => {
      if (!SHELLS.includes(shell as Shell))
        throw new UsageError(`unknown shell '${shell}' (known: ${SHELLS.join(", ")})`);
      const keys = Object.keys(schema);
      const tree = completionTree(program, {
        "/run": RUN_NAMES,
        "/config/get": keys,
        "/config/set": keys,
        "/config/unset": keys,
        "/completions": SHELLS,
      });
      process.stdout.write(completionScript(shell as Shell, program.name(), tree));
    });
}
