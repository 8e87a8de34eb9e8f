import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateMeasurement } from "../../src/api/payloads.ts";
import { Batcher, decodeFrame, LIMITS } from "../../src/batch/index.ts";

const T0 = 1_764_062_775_000;
const E = "device/child1//";

describe("Batcher flush rules", () => {
  it("flushes by count, including the record that reached it", () => {
    const b = new Batcher({ maxCount: 3, maxAgeMs: 1e9 });
    assert.equal(b.append(E, "env", "a", 1, T0, 0), undefined);
    assert.equal(b.append(E, "env", "b", 2, T0, 0), undefined);
    const f = b.append(E, "env", "c", 3, T0, 0);
    assert.ok(f);
    assert.deepEqual(
      decodeFrame(f).map((r) => r.value),
      [1, 2, 3],
    );
    assert.equal(b.count, 0);
    assert.equal(b.flush(), undefined, "nothing left after a count flush");
  });

  it("flushes by age with a fake clock: poll, nextDeadline, and append past the deadline", () => {
    const b = new Batcher({ maxAgeMs: 5000, maxCount: 100 });
    assert.equal(b.nextDeadline(), undefined);
    assert.equal(b.poll(0), undefined, "empty batcher: nothing due");
    b.append(E, "env", "a", 1, T0, 1000);
    b.append(E, "env", "a", 2, T0 + 1000, 3000);
    assert.equal(b.nextDeadline(), 6000, "deadline counts from the first append of the frame");
    assert.equal(b.poll(5999), undefined);
    const f = b.poll(6000);
    assert.ok(f);
    assert.deepEqual(
      decodeFrame(f).map((r) => r.value),
      [1, 2],
    );
    assert.equal(b.nextDeadline(), undefined);
    b.append(E, "env", "a", 3, T0, 10_000);
    assert.equal(b.nextDeadline(), 15_000);
    const g = b.append(E, "env", "a", 4, T0, 15_000);
    assert.ok(g, "an append at the deadline closes the frame, itself included");
    assert.deepEqual(
      decodeFrame(g).map((r) => r.value),
      [3, 4],
    );
  });

  it("maxAgeMs 0 and maxCount 1 send every record at once", () => {
    for (const opts of [{ maxAgeMs: 0 }, { maxCount: 1 }]) {
      const b = new Batcher(opts);
      for (let i = 0; i < 5; i++) {
        const f = b.append(E, "", "v", i, T0 + i, i);
        assert.ok(f);
        assert.deepEqual(decodeFrame(f), [{ entity: E, type: "", series: "v", value: i, tsMs: T0 + i }]);
      }
    }
  });

  it("flushes by size before a record would overflow maxBytes; frames never exceed it", () => {
    const maxBytes = 512;
    const b = new Batcher({ maxBytes, maxCount: 100_000, maxAgeMs: 1e12 });
    const frames: Uint8Array[] = [];
    let appended = 0;
    for (let i = 0; i < 2000; i++) {
      // Float64 values, absolute timestamps and new names now and then: worst case per record.
      const f = b.append(`device/c${i % 40}//`, "t", `s${i % 13}`, Math.PI * i, T0 + i * 1e11 + 0.5, 0);
      appended++;
      if (f) frames.push(new Uint8Array(f));
    }
    const last = b.flush();
    if (last) frames.push(new Uint8Array(last));
    assert.ok(frames.length > 10);
    for (const f of frames) assert.ok(f.length <= maxBytes, `frame of ${f.length} bytes > ${maxBytes}`);
    assert.equal(
      frames.reduce((n, f) => n + decodeFrame(f).length, 0),
      appended,
      "every record is in exactly one frame",
    );
  });

  it("closes the frame when a name table is full, and keeps every record", () => {
    const b = new Batcher({ maxCount: 100_000, maxBytes: 16 * 1024 * 1024, maxAgeMs: 1e12 });
    const frames: Uint8Array[] = [];
    const n = LIMITS.names + 10;
    for (let i = 0; i < n; i++) {
      const f = b.append(E, "", `series-${i}`, i, T0, 0);
      if (f) frames.push(f);
    }
    frames.push(b.flush()!);
    assert.equal(frames.length, 2);
    const all = frames.flatMap((f) => decodeFrame(f));
    assert.equal(all.length, n);
    assert.deepEqual(
      all.map((r) => r.series),
      Array.from({ length: n }, (_, i) => `series-${i}`),
    );
  });

  it("rejects bad timestamps, reserved and over-long names with a RangeError", () => {
    const b = new Batcher();
    assert.throws(() => b.append(E, "", "v", 1, Number.NaN, 0), RangeError);
    assert.throws(() => b.append(E, "", "v", 1, Number.POSITIVE_INFINITY, 0), RangeError);
    assert.throws(() => b.append(E, "", "time", 1, T0, 0), /reserved/);
    assert.throws(() => b.append(E, "", "x".repeat(LIMITS.nameLength + 1), 1, T0, 0), RangeError);
    assert.equal(b.count, 0, "a rejected record leaves nothing behind");
    assert.throws(() => new Batcher({ maxCount: 0 }), RangeError);
    assert.throws(() => new Batcher({ maxBytes: 10 }), RangeError);
    assert.throws(() => new Batcher({ maxAgeMs: -1 }), RangeError);
  });
});

describe("Batcher frames and buffers", () => {
  it("reuses a released buffer for a later frame (the pool), and not an unreleased one", () => {
    const b = new Batcher({ maxCount: 2 });
    b.append(E, "", "v", 1, T0, 0);
    const f1 = b.append(E, "", "v", 2, T0, 0)!;
    const copy1 = new Uint8Array(f1);
    b.append(E, "", "v", 3, T0, 0);
    const f2 = b.append(E, "", "v", 4, T0, 0)!;
    assert.notEqual(f2.buffer, f1.buffer, "an unreleased frame is never written over");
    assert.deepEqual(new Uint8Array(f1), copy1);
    b.release(f1);
    b.release(f1); // twice: ignored
    b.append(E, "", "v", 5, T0, 0);
    const f3 = b.append(E, "", "v", 6, T0, 0)!;
    assert.equal(f3.buffer, f1.buffer, "the released buffer is reused");
    assert.deepEqual(
      decodeFrame(f3).map((r) => r.value),
      [5, 6],
    );
    assert.deepEqual(
      decodeFrame(f2).map((r) => r.value),
      [3, 4],
    );
  });

  it("does not let other cbor-x users write into a pooled buffer", async () => {
    const { encode } = await import("cbor-x");
    const b = new Batcher({ maxCount: 1 });
    const f = b.append(E, "", "v", 1, T0, 0)!;
    const other = encode({ hello: "world" });
    const otherCopy = new Uint8Array(other);
    assert.notEqual(other.buffer, f.buffer, "a foreign encode lands outside the pooled buffer");
    b.release(f);
    const g = b.append(E, "", "v", 2, T0, 0)!;
    assert.equal(g.buffer, f.buffer);
    assert.deepEqual(
      new Uint8Array(other),
      otherCopy,
      "reusing the pooled buffer leaves the foreign result intact",
    );
  });

  it("appendMeasurement: top-level series, group.name series, payload time and type", () => {
    const m = validateMeasurement({
      temperature: 21.5,
      location: { latitude: 32.54, longitude: -117.67 },
      time: "2021-11-16T17:45:40.571760714+01:00",
      type: "gps",
    });
    assert.ok(m.ok);
    const b = new Batcher();
    assert.equal(b.appendMeasurement(E, "env", m.value, 99).length, 0);
    const n = validateMeasurement({ pressure: 1013 });
    assert.ok(n.ok);
    b.appendMeasurement(E, "env", n.value, 1000);
    const recs = decodeFrame(b.flush()!);
    const ts = Date.parse("2021-11-16T17:45:40.571+01:00");
    assert.deepEqual(recs, [
      { entity: E, type: "gps", series: "temperature", value: 21.5, tsMs: ts },
      { entity: E, type: "gps", series: "location.latitude", value: 32.54, tsMs: ts },
      { entity: E, type: "gps", series: "location.longitude", value: -117.67, tsMs: ts },
      { entity: E, type: "env", series: "pressure", value: 1013, tsMs: 1000 },
    ]);
  });

  it("appendMeasurement returns every frame completed meanwhile", () => {
    const b = new Batcher({ maxCount: 2 });
    const m = validateMeasurement({ a: 1, b: 2, c: 3, g: { d: 4, e: 5 } });
    assert.ok(m.ok);
    const frames = b.appendMeasurement(E, "", m.value, 0);
    assert.equal(frames.length, 2);
    assert.deepEqual(
      [...frames.flatMap((f) => decodeFrame(f)), ...decodeFrame(b.flush()!)].map((r) => r.series),
      ["a", "b", "c", "g.d", "g.e"],
    );
  });
});
