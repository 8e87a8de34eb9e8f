/**
 * The bus contract suite (bus.test.ts) under Bun: `bun test` runs the same node:test file, so the
 * MqttBus pairs talk over Bun.connect (selectNet picks it) while under Node they use node:net.
 */
import assert from "node:assert/strict";
import { itUnderBun } from "../helpers/bun-suite.ts";

itUnderBun(
  "the bus contract suite passes under Bun (MqttBus on Bun.connect)",
  "./test/bus/bus.test.ts",
  (passed) =>
    // every MqttBus pair ran, not just the in-process ones
    assert.ok(passed.filter((n) => n.startsWith("MqttBus")).length >= 14, `passed: ${passed.join("\n")}`),
);
