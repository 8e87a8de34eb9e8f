/**
 * The bus contract suite (bus.test.ts) under Bun: `bun test` runs the same node:test file, so the
 * MqttBus pairs talk over Bun.connect (selectNet picks it) while under Node they use node:net.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { it } from "node:test";
import { underBun } from "../helpers/bun-suite.ts";
import { BUN } from "../helpers/targets-bin.ts";

it("the bus contract suite passes under Bun (MqttBus on Bun.connect)", {
  skip: !existsSync(BUN) && "bun not installed",
}, async () => {
  const r = await underBun("./test/bus/bus.test.ts");
  assert.deepEqual(r.failed, [], r.tail);
  assert.equal(r.code, 0, r.tail);
  // every MqttBus pair ran, not just the in-process ones
  assert.ok(r.passed.filter((n) => n.startsWith("MqttBus")).length >= 14, `passed: ${r.passed.join("\n")}`);
});
