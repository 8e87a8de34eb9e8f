/** `ledge operations list|check|commands` through the real CLI. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BUILTIN_OPERATIONS } from "../../src/agent/workflows/builtin.ts";
import { ledge, tempConfig } from "../helpers/cli.ts";

describe("ledge operations", () => {
  it("list: built-in workflows, workflow files (with errors) and Cumulocity operation files, with their source", async () => {
    const { dir } = await tempConfig();
    mkdirSync(join(dir, "operations", "c8y"), { recursive: true });
    writeFileSync(
      join(dir, "operations", "software_update.toml"),
      'operation = "software_update"\n[init]\naction = "proceed"\n',
    );
    writeFileSync(join(dir, "operations", "bad.toml"), 'operation = "custom"\n[init\n');
    writeFileSync(
      join(dir, "operations", "c8y", "c8y_Command"),
      '[exec]\ntopic = "c8y/s/ds"\non_message = "511"\ncommand = "/bin/x"\n',
    );
    const r = ledge(["--config-dir", dir, "operations", "list", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as {
      kind: string;
      operation: string;
      source: string;
      error?: string;
    }[];
    const by = (op: string) => rows.find((x) => x.operation === op)!;
    for (const op of [...BUILTIN_OPERATIONS, "device_profile"]) assert.ok(by(op), op);
    assert.equal(by("restart").source, "builtin");
    assert.equal(by("software_update").source, join(dir, "operations", "software_update.toml"));
    assert.match(by("custom").error ?? "", /bad\.toml:2: invalid TOML/);
    assert.equal(by("c8y_Command").kind, "c8y");
    const text = ledge(["--config-dir", dir, "operations", "list"]).stdout;
    assert.match(text, /workflow +restart +builtin/);
  });

  it("check: a good workflow, a bad one with file:line:reason, an operation file", async () => {
    const { dir } = await tempConfig();
    const good = join(dir, "good.toml");
    writeFileSync(good, 'operation = "x"\n[init]\nscript = "true"\non_success = "successful"\n');
    const ok = ledge(["operations", "check", good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /workflow 'x' OK \(3 states: init, successful, failed\)/);
    const bad = join(dir, "bad.toml");
    writeFileSync(bad, 'operation = "x"\n[init]\naction = "jump"\n');
    const no = ledge(["operations", "check", bad]);
    assert.equal(no.code, 1);
    assert.match(no.stderr, /bad\.toml:3: state 'init': unknown action 'jump'/);
    const opFile = join(dir, "c8y_Command");
    writeFileSync(opFile, '[exec]\ntopic = "c8y/s/ds"\non_message = "511"\n');
    const r = ledge(["operations", "check", opFile]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /'on_message' needs 'topic' and 'command'/);
  });

  it("commands: the persisted state of commands in flight", async () => {
    const { dir } = await tempConfig();
    mkdirSync(join(dir, "data", "agent"), { recursive: true });
    const rec = (id: string, status: string, extra = {}) => ({
      topic: `te/device/main///cmd/firmware_update/${id}`,
      op: "firmware_update",
      id,
      status,
      payload: { status },
      startedAt: Date.UTC(2026, 0, 1),
      ...extra,
    });
    writeFileSync(
      join(dir, "data", "agent", "commands.json"),
      JSON.stringify([
        rec("a", "install", { version: "f".repeat(64), since: Date.UTC(2026, 0, 1, 0, 5) }),
        rec("b", "successful"),
      ]),
    );
    const r = ledge(["--config-dir", dir, "operations", "commands"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.trim(),
      "te/device/main///cmd/firmware_update/a  install  since 2026-01-01T00:05:00.000Z  (version ffffffffffff)",
    );
    assert.match(
      ledge(["--config-dir", dir, "operations", "commands", "--all"]).stdout,
      /firmware_update\/b {2}successful/,
    );
  });
});
