/**
 * The socket layer suite (test/bus/net-suite.ts) for both implementations: node:net/node:tls in
 * this process, Bun.listen/Bun.connect in a child `bun` process running the same checks.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { nodeNet } from "../../src/bus/net/net-node.ts";
import { BUN, jsonLines, ROOT, runCommand } from "../helpers/targets-bin.ts";
import { createPki, type Pki } from "../helpers/tls-pki.ts";
import { netChecks } from "./net-suite.ts";

describe("sockets: node (node:net, node:tls)", () => {
  let pki: Pki;
  before(() => {
    pki = createPki();
  });
  after(() => pki.cleanup());
  for (const c of netChecks(nodeNet, "node", () => pki)) it(c.name, () => c.run());
});

interface Line {
  name?: string;
  ok?: boolean;
  kind?: string;
  error?: string;
  done?: boolean;
  fatal?: string;
  passed?: number;
  failed?: number;
}

describe("sockets: bun (Bun.listen, Bun.connect)", { skip: !existsSync(BUN) && "bun not installed" }, () => {
  let lines: Line[] = [];
  let stderr = "";
  before(async () => {
    const r = await runCommand(BUN, [join(ROOT, "test/bus/run-net-suite.ts")], {
      cwd: ROOT,
      timeoutMs: 120_000,
    });
    stderr = r.stderr;
    lines = jsonLines<Line>(r.stdout);
  });
  const names = netChecks(nodeNet, "bun", () => undefined as unknown as Pki).map((c) => c.name);
  for (const name of names)
    it(name, () => {
      const r = lines.find((l) => l.name === name);
      assert.ok(r, `bun harness did not report '${name}' (stderr: ${stderr.slice(0, 2000)})`);
      assert.equal(r.kind, "bun");
      assert.ok(r.ok, r.error);
    });
  it("the harness ran every check and finished", () => {
    const done = lines.find((l) => l.done);
    assert.ok(done && !done.fatal, done?.fatal ?? `no summary (stderr: ${stderr.slice(0, 2000)})`);
    assert.equal(done.failed, 0);
    assert.equal(done.passed, names.length);
  });
});
