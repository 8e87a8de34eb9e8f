import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Batcher, type BatchRecord } from "../../src/batch/index.ts";
import { randomRecords, rng } from "../helpers/batch-random.ts";

/**
 * Frames written by ledge, decoded by an independent CBOR implementation (Debian's python3-cbor2,
 * via /usr/bin/python3 and test/helpers/batch-cbor2.py), must give back the appended values.
 */
const SCRIPT = join(import.meta.dirname, "..", "helpers", "batch-cbor2.py");
const dir = mkdtempSync(join(tmpdir(), "ledge-batch-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function viaCbor2(file: string): Record<string, unknown>[] {
  const r = spawnSync("/usr/bin/python3", [SCRIPT, file], { encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, `python3-cbor2 failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

/** How the python script writes a value: exact, with the non-JSON numbers as strings. */
function expected(r: BatchRecord): Record<string, unknown> {
  const v = r.value;
  const value = Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "-0" : Number.isFinite(v) ? v : String(v);
  return { entity: r.entity, type: r.type, series: r.series, value, tsMs: r.tsMs };
}

describe("cross-check with python3-cbor2", () => {
  for (const values of ["mixed", "decimal", "int"] as const)
    it(`${values} values: a sequence of frames decodes in cbor2 to the appended records`, () => {
      const records = randomRecords(rng(values.length * 31), { count: 3000, entities: 25, values });
      const b = new Batcher({ maxCount: 400, maxAgeMs: 1e12 });
      const frames: Uint8Array[] = [];
      for (const r of records) {
        const f = b.append(r.entity, r.type, r.series, r.value, r.tsMs, 0);
        if (f) frames.push(f); // not released: each keeps its own buffer
      }
      frames.push(b.flush()!);
      assert.ok(frames.length >= 8);
      const file = join(dir, `${values}.cbor`);
      writeFileSync(file, Buffer.concat(frames));
      assert.deepEqual(viaCbor2(file), records.map(expected));
    });
});
