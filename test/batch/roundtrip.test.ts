import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Decoder, decodeMultiple, type Tag } from "cbor-x";
import { Batcher, type BatchRecord, decodeFrame, decodeFrames } from "../../src/batch/index.ts";
import { crc32Portable } from "../../src/foundation/crc32.ts";
import { randomRecords, rng, sameRecords } from "../helpers/batch-random.ts";

/** Appends records, collecting every frame (copied, then released, as a real consumer would). */
function encodeAll(records: readonly BatchRecord[], b: Batcher): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const take = (f: Uint8Array | undefined) => {
    if (!f) return;
    frames.push(new Uint8Array(f));
    b.release(f);
  };
  for (const r of records) take(b.append(r.entity, r.type, r.series, r.value, r.tsMs, 0));
  take(b.flush());
  return frames;
}

describe("round trip of random batches", () => {
  for (const values of ["mixed", "decimal", "int"] as const) {
    it(`${values} values: 200 seeded batches decode to exactly what was appended`, () => {
      for (let seed = 1; seed <= 200; seed++) {
        const rand = rng(seed * 7919 + values.length);
        const records = randomRecords(rand, {
          count: 1 + Math.floor(rand() * 300),
          entities: 1 + Math.floor(rand() * 40),
          values,
        });
        const maxCount = 1 + Math.floor(rand() * 400);
        const frames = encodeAll(records, new Batcher({ maxCount, maxAgeMs: 1e12 }));
        const decoded = frames.flatMap((f) => decodeFrame(f));
        const diff = sameRecords(records, decoded);
        assert.equal(diff, undefined, `seed ${seed}: ${diff}`);
      }
    });
  }

  it("the special values: NaN, ±Infinity, -0, large integers, tiny and huge floats", () => {
    const specials = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      0,
      2 ** 53,
      -(2 ** 53) - 2,
      Number.MAX_SAFE_INTEGER,
      2 ** 31,
      -(2 ** 31),
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      1e-300,
    ];
    for (const v of specials) {
      // Alone (the frame's column type follows the value) and among ordinary decimals.
      for (const others of [[], [21.5, 1.25, -3]]) {
        const recs = [...others, v].map((value, i) => ({
          entity: "device/main//",
          type: "t",
          series: `s${i}`,
          value,
          tsMs: 1_764_062_775_000,
        }));
        const back = encodeAll(recs, new Batcher()).flatMap((f) => decodeFrame(f));
        assert.equal(sameRecords(recs, back), undefined, `value ${String(v)}`);
      }
    }
  });

  it("unicode names, many entities and out-of-order, equal and far-apart timestamps", () => {
    const recs: BatchRecord[] = [];
    const ts = [5000, 5000, 4000, 10 ** 12, -(10 ** 12), 0, 2 ** 40, 2 ** 40, 1.5, 8.64e15];
    for (let i = 0; i < 1000; i++)
      recs.push({
        entity: `device/子機-${i % 500}//`,
        type: i % 2 ? "Énergie ⚡" : "",
        series: i % 3 ? "温度.°C" : "🌡️",
        value: i / 7,
        tsMs: ts[i % ts.length]!,
      });
    const frames = encodeAll(recs, new Batcher({ maxCount: 5000 }));
    assert.equal(frames.length, 1);
    assert.equal(sameRecords(recs, decodeFrame(frames[0]!)), undefined);
  });

  it("frames written back to back decode as a sequence", () => {
    const recs = randomRecords(rng(42), { count: 500 });
    const frames = encodeAll(recs, new Batcher({ maxCount: 37 }));
    const joined = Buffer.concat(frames);
    assert.equal(sameRecords(recs, decodeFrames(joined).flat()), undefined);
  });

  it("the frame is plain CBOR: a generic decoder sees version 1, the tables, three sequences, the CRC", () => {
    const b = new Batcher();
    b.append("device/main//", "env", "t", 21.37, 1_764_062_775_000, 0);
    b.append("device/main//", "env", "t", 21.38, 1_764_062_776_000, 0);
    b.append("device/main//", "env", "x", 0.1 + 0.2, 1_764_062_776_000, 0);
    const bytes = b.flush()!;
    const frame = new Decoder({ useRecords: false }).decode(bytes);
    assert.deepEqual(frame.slice(0, 4), [1, ["device/main//"], ["env"], ["t", "x"]]);
    assert.equal(frame[5], 3, "count");
    assert.deepEqual([...frame[6]], [0, 0, 1], "channel of each record");
    const items = (tag: Tag) => (decodeMultiple(tag.value) as (number | bigint)[]).map(Number);
    assert.deepEqual(items(frame[4]), [0, 0, 0, 2, 0, 0, 1, -1], "channels: (entity, type, series, scale)");
    assert.equal(frame[7].tag, 63);
    assert.deepEqual(items(frame[7]), [1_764_062_775_000, 1000, 0], "timestamp deltas");
    assert.deepEqual(items(frame[8]), [2137, 1, 0.1 + 0.2], "scaled deltas; floats as they are");
    assert.equal(
      frame[9],
      crc32Portable(bytes.subarray(0, bytes.length - 5)),
      "CRC-32 of the bytes before it",
    );
    assert.equal(bytes.length, 80, "80 bytes for three readings, tables and CRC included");
  });
});
