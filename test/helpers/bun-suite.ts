/**
 * Runs a node:test file under Bun (`bun test` runs node:test files), so the code under test picks
 * Bun's sockets (selectNet) as in the x64/arm64 binaries, while the same file under Node uses
 * node:net/node:tls.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { it } from "node:test";
import { BUN, ROOT, runCommand } from "./targets-bin.ts";

/**
 * A test that runs `file` under Bun: nothing fails, and `check` sees the names of the tests that
 * passed (so a file that ran nothing does not pass).
 */
export function itUnderBun(title: string, file: string, check: (passed: string[]) => void): void {
  it(title, { skip: !existsSync(BUN) && "bun not installed" }, async () => {
    const r = await runCommand(BUN, ["test", file], { cwd: ROOT, timeoutMs: 180_000 });
    const names = (status: string) =>
      [...r.output.matchAll(new RegExp(`^\\(${status}\\) (.*?)(?: \\[[\\d.]+ms\\])?$`, "gm"))].map(
        (m) => m[1] as string,
      );
    const tail = r.output.slice(-3000);
    assert.deepEqual(names("fail"), [], tail);
    assert.equal(r.code, 0, tail);
    check(names("pass"));
  });
}

/** `check` for `itUnderBun`: each of `what` names a test that passed. */
export const passedAll =
  (...what: RegExp[]) =>
  (passed: string[]): void => {
    for (const w of what)
      assert.ok(
        passed.some((n) => w.test(n)),
        `${w} did not run: ${passed.join("\n")}`,
      );
  };
