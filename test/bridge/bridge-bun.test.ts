/**
 * The bridge against its TLS cloud stand-in (bridge.test.ts) under Bun, whose link and probe then
 * connect with Bun.connect as in the x64/arm64 binaries: mutual TLS, the failures `connect --test`
 * names (Bun reports TLS alerts differently from Node), uplink and downlink per cloud.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { it } from "node:test";
import { underBun } from "../helpers/bun-suite.ts";
import { BUN } from "../helpers/targets-bin.ts";

it("the bridge's TLS stand-in suite passes under Bun (the link and probe on Bun.connect)", {
  skip: !existsSync(BUN) && "bun not installed",
}, async () => {
  const r = await underBun("./test/bridge/bridge.test.ts");
  assert.deepEqual(r.failed, [], r.tail);
  assert.equal(r.code, 0, r.tail);
  for (const what of [/another CA is refused/, /probe names what it proved/, /commands come back/])
    assert.ok(
      r.passed.some((n) => what.test(n)),
      `${what} did not run: ${r.passed.join("\n")}`,
    );
});
