/**
 * JavaScript flow steps in every compiled binary: the QuickJS WASM module is bundled into the Bun
 * executables (x64, arm64) and the Node SEA (armv7); arm64 and armv7 run under qemu-user. thin-edge's
 * Example 1 must give the documented output, and a looping step must be stopped by the time limit.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { flowsTree, SENSOR_REMAP } from "../helpers/flows.ts";
import { ensureBuilt, runBinary, target, tempConfigDir, unavailable } from "../helpers/targets-bin.ts";

for (const name of ["linux-x64", "linux-arm64", "linux-armv7"]) {
  const t = target(name);
  describe(`flows in the ${name} binary${t.emulation ? " under qemu" : ""}`, { skip: unavailable(t) }, () => {
    test("ledge flows test runs a JavaScript step; a looping one is stopped", {
      timeout: 120_000,
    }, async () => {
      ensureBuilt([name]);
      const c = tempConfigDir(1883);
      try {
        flowsTree(
          {
            ...SENSOR_REMAP,
            "spin/flow.toml": `input.mqtt.topics = ["spin"]\nsteps = [{ script = "s.js" }]\n`,
            "spin/s.js": "export function onMessage() { for (;;) {} }",
          },
          "local",
          c.dir,
        );
        const ok = await runBinary(
          t,
          ["--config-dir", c.dir, "flows", "test", "sensors/factory/zone1", '{"temp": 22.4}'],
          {
            timeoutMs: 90_000,
          },
        );
        assert.equal(ok.stdout, '[te/device/main///m/environment] {"temperature":22.4}\n', ok.output);
        const spin = await runBinary(t, ["--config-dir", c.dir, "flows", "test", "spin", "x"], {
          timeoutMs: 90_000,
        });
        assert.equal(
          spin.stdout,
          "[te/error] flow spin: step s.js: step stopped: it ran longer than 500 ms\n",
          spin.output,
        );
      } finally {
        c.cleanup();
      }
    });
  });
}
