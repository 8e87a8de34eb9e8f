/** thin-edge's `sudo.enable`: plugins and the restart command through `sudo -n` when it is on. */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sudoWrapper } from "../../src/agent/sudo.ts";
import { agentEnv } from "../helpers/agent-env.ts";
import { waitFor } from "../helpers/ports.ts";

describe("sudo.enable", () => {
  const dir = mkdtempSync(join(tmpdir(), "ledge-sudo-"));
  writeFileSync(join(dir, "sudo"), "#!/bin/sh\n");
  chmodSync(join(dir, "sudo"), 0o755);
  const cases: [string, boolean, string, string[]][] = [
    ["on, sudo on the PATH: sudo -n -- argv", true, dir, [join(dir, "sudo"), "-n", "--", "reboot"]],
    ["off: argv as is", false, dir, ["reboot"]],
    ["on, no sudo on the PATH: argv as is", true, "/nonexistent", ["reboot"]],
  ];
  for (const [name, enable, path, want] of cases)
    it(name, () => assert.deepEqual(sudoWrapper(enable, { PATH: path })(["reboot"]), want));

  it("software plugins run through the real sudo when on", async () => {
    const env = await agentEnv("embedded", { "sudo.enable": true });
    try {
      const out = join(env.dir, "sudo-user");
      env.plugin("whoami", `[ "$1" = list ] && echo "$SUDO_COMMAND" > "${out}"\nexit 0`);
      await env.startAgent();
      await env.command("software_list", "w1", { status: "init" });
      await env.waitStatus("software_list", "w1", "successful");
      const cmd = await waitFor("plugin ran", () => readFileSync(out, "utf8").trim() || undefined);
      assert.match(cmd, /whoami list$/, "sudo set SUDO_COMMAND: the plugin ran through sudo");
    } finally {
      await env.close();
    }
  });
});
