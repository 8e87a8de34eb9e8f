/** src/cli/commands/index.ts: a command line registers only the module of the command it runs. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Command } from "commander";
import { commandOf, registerCommands } from "../../src/cli/commands/index.ts";

const names = (p: Command) => p.commands.map((c) => c.name()).sort();

describe("on-demand command registration", () => {
  const TABLE: [string[], string | undefined][] = [
    [["run"], "run"],
    [["-c", "/etc/x", "run", "broker"], "run"],
    [["--config-dir", "run", "config", "get", "x"], "config"], // "run" is the option's value
    [["--config-dir=/etc/x", "mqtt", "pub"], "mqtt"],
    [["disconnect", "c8y"], "connect"],
    [["reconnect", "c8y"], "connect"],
    [["completions", "bash"], undefined], // describes every command
    [["help", "run"], undefined],
    [["--help"], undefined],
    [[], undefined],
    [["nonsense"], undefined], // commander then suggests from the whole list
  ];
  for (const [argv, want] of TABLE)
    it(`${JSON.stringify(argv)} → ${want ?? "all commands"}`, () => assert.equal(commandOf(argv), want));

  it("each top-level command is registered when it alone is run", async () => {
    const all = new Command("ledge");
    await registerCommands(all, []);
    assert.ok(all.commands.length >= 14, `expected every command, got ${names(all)}`);
    for (const name of names(all)) {
      if (name === "completions") continue;
      const one = new Command("ledge");
      await registerCommands(one, [name]);
      assert.ok(names(one).includes(name), `${name} is not registered by its own module`);
      assert.ok(one.commands.length <= 3, `${name} registered ${names(one)}`);
    }
  });
});
