/**
 * The LAN listener's TLS tests (broker-lan.test.ts) under Bun, whose broker then listens with
 * Bun.listen as in the x64/arm64 binaries: a wrong client certificate, a client certificate accepted,
 * the password file and the ACL, on the socket layer's second implementation.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { it } from "node:test";
import { underBun } from "../helpers/bun-suite.ts";
import { BUN } from "../helpers/targets-bin.ts";

it("the LAN listener's TLS, certificate and password checks pass under Bun (Bun.listen)", {
  skip: !existsSync(BUN) && "bun not installed",
}, async () => {
  const r = await underBun("./test/bus/broker-lan.test.ts");
  assert.deepEqual(r.failed, [], r.tail);
  assert.equal(r.code, 0, r.tail);
  for (const what of [/wrong password/, /another CA is refused/, /the ACL/, /README's example/])
    assert.ok(
      r.passed.some((n) => what.test(n)),
      `${what} did not run: ${r.passed.join("\n")}`,
    );
});
