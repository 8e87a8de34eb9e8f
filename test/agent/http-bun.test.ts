/**
 * The agent's HTTP contract (http.test.ts, http-abuse.test.ts, console-http.test.ts) under Bun:
 * `bun test` runs the same node:test files, so the service runs on Bun.serve (serve-bun.ts) as in
 * the x64/arm64 binaries, while under Node it runs on node:http.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { it } from "node:test";
import { BUN, ROOT, runCommand } from "../helpers/targets-bin.ts";

const FILES = [
  "./test/agent/http.test.ts",
  "./test/agent/http-abuse.test.ts",
  "./test/console/console-http.test.ts",
];

it("the HTTP service contract passes under Bun (Bun.serve)", {
  skip: !existsSync(BUN) && "bun not installed",
  timeout: 180_000,
}, async () => {
  const r = await runCommand(BUN, ["test", ...FILES], { cwd: ROOT, timeoutMs: 170_000 });
  const pass = [...r.output.matchAll(/^\(pass\) (.*)$/gm)].map((m) => m[1]);
  const fail = [...r.output.matchAll(/^\(fail\) (.*)$/gm)].map((m) => m[1]);
  assert.deepEqual(fail, [], r.output.slice(-3000));
  assert.equal(r.code, 0, r.output.slice(-3000));
  // the slowloris, trickle, connection-limit and symlink cases ran, not only the plain ones
  for (const name of [
    "a client that never finishes its headers is dropped",
    "an upload that trickles",
    "requests beyond the limit are refused until one ends",
    "GET through a symlinked directory",
    "a GET the client abandons closes the file",
  ])
    assert.ok(
      pass.some((n) => n?.includes(name)),
      `'${name}' did not pass under Bun: ${pass.join("\n")}`,
    );
  assert.ok(pass.length >= 50, `only ${pass.length} passed`);
});
