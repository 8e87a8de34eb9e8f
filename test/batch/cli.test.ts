import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Batcher } from "../../src/batch/index.ts";
import { LEDGE, ledge } from "../helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ledge-batch-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const T = Date.parse("2026-11-25T09:00:00.000Z");

function twoFrames(): Buffer {
  const b = new Batcher({ maxCount: 4 });
  b.append("device/child1//", "environment", "temperature", 21.5, T, 0);
  b.append("device/child1//", "environment", "location.latitude", 32.54, T, 0);
  b.append("device/main//", "", "cpu", Number.NaN, T + 1500, 0);
  const f1 = b.append("device/child1//", "environment", "temperature", 21.75, T + 1000, 0)!;
  b.append("device/main/service/collectd", "load", "1m", 0.25, T + 2000, 0);
  return Buffer.concat([f1, b.flush()!]);
}

const EXPECTED = [
  'te/device/child1///m/environment {"temperature":21.5,"location":{"latitude":32.54},"time":"2026-11-25T09:00:00.000Z"}',
  'te/device/main///m/ {"cpu":"NaN","time":"2026-11-25T09:00:01.500Z"}',
  'te/device/child1///m/environment {"temperature":21.75,"time":"2026-11-25T09:00:01.000Z"}',
  'te/device/main/service/collectd/m/load {"1m":0.25,"time":"2026-11-25T09:00:02.000Z"}',
];

describe("ledge batch decode", () => {
  it("FILE: prints one `<topic> <thin-edge-json>` line per message, frames back to back", () => {
    const file = join(dir, "frames.cbor");
    writeFileSync(file, twoFrames());
    const r = ledge(["batch", "decode", file]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout.trimEnd().split("\n"), EXPECTED);
  });

  it("- reads stdin; --records prints records; --root changes the topic root", () => {
    const [cmd, ...pre] = LEDGE as [string, ...string[]];
    const run = (args: string[]) =>
      spawnSync(cmd, [...pre, "batch", "decode", ...args], {
        input: twoFrames(),
        encoding: "utf8",
        timeout: 60_000,
      });
    const a = run(["-", "--root", "tedge"]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout.split("\n")[0], EXPECTED[0]!.replace(/^te\//, "tedge/"));
    const b = run(["--records"]);
    assert.equal(b.status, 0, b.stderr);
    const lines = b.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 5);
    assert.deepEqual(lines[2], {
      entity: "device/main//",
      type: "",
      series: "cpu",
      value: "NaN",
      tsMs: T + 1500,
    });
  });

  it("a truncated, a corrupt and a missing file each exit 1 with a clear message", () => {
    const frames = twoFrames();
    const cut = join(dir, "cut.cbor");
    writeFileSync(cut, frames.subarray(0, frames.length - 3));
    const bad = join(dir, "bad.cbor");
    writeFileSync(bad, Buffer.from('{"temperature": 21}'));
    for (const [file, msg] of [
      [cut, /^ledge: frame 2 \(byte \d+\): truncated frame/],
      [bad, /^ledge: frame 1 \(byte 0\): not a batch frame: a frame is a CBOR array, first byte is 0x7b/],
      [join(dir, "nope.cbor"), /^ledge: cannot read .*nope\.cbor/],
    ] as const) {
      const r = ledge(["batch", "decode", file]);
      assert.equal(r.code, 1, `${file}: ${r.stdout}`);
      assert.match(r.stderr, msg);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
  });
});
