/**
 * The serial transport suite (hw-test/serial/transport-suite.ts) for every implementation:
 * serialport under Node (in this process), termios through bun:ffi under Bun (a child `bun`
 * process runs the same checks), and a real port when LEDGE_TEST_SERIAL_PORT names one.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPtyPair, type PtyPair } from "../../hw-test/serial/pty-pair.ts";
import { ptyChecks, realPortChecks } from "../../hw-test/serial/transport-suite.ts";
import { openSerial } from "../../src/drivers/common/serial/open.ts";
import { serialSettings } from "../../src/drivers/common/serial/transport.ts";
import { BUN, jsonLines, ROOT, runCommand } from "../helpers/targets-bin.ts";

describe("serial transport: node (serialport)", () => {
  let pair: PtyPair;
  before(async () => {
    pair = await createPtyPair();
  });
  after(async () => pair.close());
  // the checks close over `pair`, which exists only after before(): build them lazily
  const lazy = () => ptyChecks(openSerial, "node", pair);
  const names = ptyChecks(openSerial, "node", undefined as unknown as PtyPair).map((c) => c.name);
  names.forEach((name, i) => {
    it(name, async () => {
      const c = lazy()[i];
      assert.ok(c);
      await c.run();
    });
  });
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

describe("serial transport: bun (termios via bun:ffi)", {
  skip: !existsSync(BUN) && "bun not installed",
}, () => {
  let lines: Line[] = [];
  let stderr = "";
  before(async () => {
    const r = await runCommand(BUN, [join(ROOT, "hw-test/serial/run-transport-suite.ts")], {
      cwd: ROOT,
      env: { ...process.env, LEDGE_TEST_SERIAL_PORT: "" },
      timeoutMs: 60_000,
    });
    stderr = r.stderr;
    lines = jsonLines<Line>(r.stdout);
  });

  const names = ptyChecks(openSerial, "bun", undefined as unknown as PtyPair).map((c) => c.name);
  for (const name of names.map((n) => n.replace("node", "bun"))) {
    it(name, () => {
      const r = lines.find((l) => l.name === name);
      assert.ok(r, `bun harness did not report '${name}' (stderr: ${stderr.slice(0, 2000)})`);
      assert.equal(r.kind, "bun");
      assert.ok(r.ok, r.error);
    });
  }

  it("the harness ran every check and finished", () => {
    const done = lines.find((l) => l.done);
    assert.ok(done && !done.fatal, done?.fatal ?? `no summary (stderr: ${stderr.slice(0, 2000)})`);
    assert.equal(done.failed, 0);
    assert.equal(done.passed, names.length);
  });
});

const realPort = process.env.LEDGE_TEST_SERIAL_PORT;
describe("serial transport: real port", { skip: !realPort && "LEDGE_TEST_SERIAL_PORT not set" }, () => {
  for (const c of realPortChecks(openSerial, realPort ?? "", process.env.LEDGE_TEST_SERIAL_LOOPBACK === "1"))
    it(c.name, () => c.run());
});

describe("serial settings validation", () => {
  const rows: [string, Parameters<typeof serialSettings>[0], RegExp | null][] = [
    ["8N1 is the default", { path: "/dev/x", baudRate: 9600 }, null],
    ["unsupported baud rate", { path: "/dev/x", baudRate: 12345 }, /unsupported baud rate 12345/],
    ["empty path", { path: "", baudRate: 9600 }, /path is empty/],
    ["data bits 9", { path: "/dev/x", baudRate: 9600, dataBits: 9 as 8 }, /data bits/],
    ["stop bits 3", { path: "/dev/x", baudRate: 9600, stopBits: 3 as 1 }, /stop bits/],
    ["parity mark", { path: "/dev/x", baudRate: 9600, parity: "mark" as "odd" }, /parity/],
  ];
  for (const [name, opts, err] of rows)
    it(name, () => {
      if (err) assert.throws(() => serialSettings(opts), err);
      else assert.deepEqual(serialSettings(opts), { ...opts, dataBits: 8, stopBits: 1, parity: "none" });
    });
  it("bad settings are refused before touching the device", async () => {
    await assert.rejects(openSerial({ path: "/dev/ledge-none", baudRate: 7 }), /unsupported baud rate/);
  });
});
