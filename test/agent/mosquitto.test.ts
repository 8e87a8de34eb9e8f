import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "smol-toml";
import { type AgentEnv, agentEnv } from "../helpers/agent-env.ts";
import { waitFor } from "../helpers/ports.ts";

describe("agent against a real mosquitto", () => {
  let env: AgentEnv;
  before(async () => {
    env = await agentEnv("mosquitto", { "agent.restart.command": ["true"] });
  });
  after(() => env.close());

  it("announces capabilities and runs software_list over MQTT", async () => {
    env.plugin("fake", `[ "$1" = list ] && printf 'a\\t1\\n'\nexit 0`);
    await env.startAgent();
    await waitFor("capability", () => env.seen.get("te/device/main///cmd/software_update")?.toString());
    await env.command("software_list", "m1", { status: "init" });
    const r = await env.waitStatus("software_list", "m1", "successful");
    assert.deepEqual(r.currentSoftwareList, [{ type: "fake", modules: [{ name: "a", version: "1" }] }]);
    await env.stopAgent();
  });

  it("an agent killed (SIGKILL) mid-operation: on restart the unsafe command fails, the safe one re-runs", async () => {
    const marks = join(env.dir, "marks");
    // software_update hangs in install; software_list hangs only on its first run.
    env.plugin(
      "slow",
      [
        `case "$1" in`,
        `  install) echo $$ > "${marks}.install"; exec sleep 30 ;;`,
        `  list) if [ ! -f "${marks}.listed" ]; then touch "${marks}.listed"; echo $$ > "${marks}.list"; exec sleep 30; fi; printf 'x\\t2\\n' ;;`,
        "esac",
        "exit 0",
      ].join("\n"),
    );
    const c = env.config;
    writeFileSync(
      join(env.dir, "ledge.toml"),
      stringify({
        data: { path: c.dataDir },
        http: { bind: { port: c.get("http.bind.port") } },
        agent: { sm_plugins_dir: c.get("agent.sm_plugins_dir"), monitor: { interval_s: 0 } },
      }),
    );
    const proc: ChildProcess = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(import.meta.dirname, "../helpers/agent-process.ts"),
        env.dir,
        String(env.brokerPort),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    proc.stdout?.on("data", (d) => {
      out += d;
    });
    const pids: number[] = [];
    try {
      await waitFor("agent process started", () => out.includes("started") || undefined, 20_000);
      await env.command("software_update", "k1", {
        status: "init",
        updateList: [{ type: "slow", modules: [{ name: "pkg", action: "install" }] }],
      });
      await env.command("software_list", "k2", { status: "init" });
      await env.waitStatus("software_update", "k1", "executing");
      await env.waitStatus("software_list", "k2", "executing");
      for (const f of [`${marks}.install`, `${marks}.list`]) {
        await waitFor(f, () => existsSync(f) || undefined);
        pids.push(Number(readFileSync(f, "utf8")));
      }
      proc.kill("SIGKILL");
      await new Promise((r) => proc.once("exit", r));
      await env.startAgent();
      const failed = await env.waitStatus("software_update", "k1", "failed");
      assert.match(String(failed.reason), /agent stopped while 'software_update' was executing/);
      const listed = await env.waitStatus("software_list", "k2", "successful");
      assert.deepEqual(listed.currentSoftwareList, [
        { type: "fake", modules: [{ name: "a", version: "1" }] },
        { type: "slow", modules: [{ name: "x", version: "2" }] },
      ]);
    } finally {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      for (const pid of pids)
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
    }
  });
});
