/**
 * The bus contract suite (bus.test.ts) under Bun: `bun test` runs the same node:test file, so the
 * MqttBus pairs talk over Bun.connect (selectNet picks it) while under Node they use node:net.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { it } from "node:test";
import { BUN, ROOT, runCommand } from "../helpers/targets-bin.ts";

it("the bus contract suite passes under Bun (MqttBus on Bun.connect)", {
  skip: !existsSync(BUN) && "bun not installed",
}, async () => {
  const r = await runCommand(BUN, ["test", "./test/bus/bus.test.ts"], { cwd: ROOT, timeoutMs: 180_000 });
  const pass = [...r.output.matchAll(/^\(pass\) (.*)$/gm)].map((m) => m[1]);
  const fail = [...r.output.matchAll(/^\(fail\) (.*)$/gm)].map((m) => m[1]);
  assert.deepEqual(fail, [], r.output.slice(-3000));
  assert.equal(r.code, 0, r.output.slice(-3000));
  // every MqttBus pair ran, not just the in-process ones
  assert.ok(pass.filter((n) => n?.startsWith("MqttBus")).length >= 14, `passed: ${pass.join("\n")}`);
});
