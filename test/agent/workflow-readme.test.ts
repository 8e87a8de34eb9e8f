/**
 * The README's worked example (thin-edge's documented software_update wrapper) runs as printed,
 * only its three scripts moved from /usr/bin to a temp dir.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type AgentEnv, agentEnv } from "../helpers/agent-env.ts";

const README = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");

describe("README worked example: a thin-edge software_update workflow", () => {
  let env: AgentEnv;
  const seen: string[] = [];
  before(async () => {
    const block = /Worked example[\s\S]*?```toml\n([\s\S]*?)```/.exec(README)?.[1];
    assert.ok(block, "the README has the example");
    env = await agentEnv("embedded");
    const bin = join(env.dir, "bin");
    mkdirSync(bin);
    for (const s of [
      "schedule-software-update.sh",
      "commit-software-update.sh",
      "rollback-software-update.sh",
    ]) {
      writeFileSync(join(bin, s), `#!/bin/sh\necho "${s} $*" >> "${join(env.dir, "calls.log")}"\n`);
      chmodSync(join(bin, s), 0o755);
    }
    mkdirSync(join(env.dir, "operations"));
    writeFileSync(
      join(env.dir, "operations", "software_update.toml"),
      block.replaceAll("/usr/bin/", `${bin}/`),
    );
    env.plugin("fake", "exit 0");
    env.plugin("broken", 'echo "E: no such package" >&2; exit 1');
    env.client.on("message", (t, p) => {
      if (t.endsWith("/cmd/software_update/r1") && p.length) seen.push(JSON.parse(p.toString()).status);
    });
    await env.startAgent();
  });
  after(() => env.close());

  it("init → scheduled → executing → commit → successful, the scripts called with the payload", async () => {
    await env.command("software_update", "r1", {
      status: "init",
      updateList: [{ type: "fake", modules: [{ name: "a", version: "1", action: "install" }] }],
    });
    await env.waitStatus("software_update", "r1", "successful");
    assert.deepEqual(seen, ["init", "scheduled", "executing", "commit", "successful"]);
    const calls = readFileSync(join(env.dir, "calls.log"), "utf8");
    assert.match(
      calls,
      /^schedule-software-update.sh \{"topic":"te\/device\/main\/\/\/cmd\/software_update\/r1","payload":\{.*"status":"init"/,
    );
    assert.match(calls, /commit-software-update.sh \[\{"type":"fake"/);
  });

  it("a plugin failure → rollback → failed with the plugin's reason", async () => {
    await env.command("software_update", "r2", {
      status: "init",
      updateList: [{ type: "broken", modules: [{ name: "b", action: "install" }] }],
    });
    const r = await env.waitStatus("software_update", "r2", "failed");
    assert.match(String(r.reason), /no such package/);
    assert.match(readFileSync(join(env.dir, "calls.log"), "utf8"), /rollback-software-update.sh/);
  });
});
