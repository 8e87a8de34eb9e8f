import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Encoder } from "cbor-x";
import { Batcher, BatchFormatError, decodeFrame, decodeFrames } from "../../src/batch/index.ts";
import { randomRecords, rng } from "../helpers/batch-random.ts";

function sampleFrame(count = 50, seed = 7): Uint8Array {
  const b = new Batcher({ maxCount: 100_000 });
  for (const r of randomRecords(rng(seed), { count }))
    b.append(r.entity, r.type, r.series, r.value, r.tsMs, 0);
  return new Uint8Array(b.flush()!);
}

const enc = new Encoder({ useRecords: false, tagUint8Array: true });
/** A hand-built frame from fields, for shape errors the Batcher never produces. */
function frameOf(fields: unknown[]): Uint8Array {
  return new Uint8Array(enc.encode(fields));
}
const GOOD: unknown[] = [
  1,
  ["device/main//"],
  ["env"],
  ["t"],
  [0, 0, 0],
  2,
  new Uint8Array([0, 0]),
  1000,
  new Int8Array([0, 5]),
  1,
  new Int16Array([215, 216]),
];
const withField = (i: number, v: unknown) => GOOD.map((x, j) => (j === i ? v : x));

/** Decoding must either succeed or throw a BatchFormatError: nothing else, ever. */
function decodeOrFormatError(bytes: Uint8Array): "ok" | "error" {
  try {
    decodeFrame(bytes);
    return "ok";
  } catch (e) {
    if (!(e instanceof BatchFormatError)) throw e;
    assert.ok(e.message.length > 10);
    return "error";
  }
}

describe("strict frame validation", () => {
  it("the hand-built reference frame is valid", () => {
    assert.deepEqual(decodeFrame(frameOf(GOOD)), [
      { entity: "device/main//", type: "env", series: "t", value: 21.5, tsMs: 1000 },
      { entity: "device/main//", type: "env", series: "t", value: 21.6, tsMs: 1005 },
    ]);
  });

  it("every truncation of a frame is a BatchFormatError saying truncated", () => {
    const f = sampleFrame();
    for (let len = 0; len < f.length; len++)
      assert.throws(
        () => decodeFrame(f.subarray(0, len)),
        (e: Error) => {
          assert.ok(e instanceof BatchFormatError, `length ${len}: ${e}`);
          assert.match(e.message, /truncated|ends|past the end/, `length ${len}`);
          return true;
        },
      );
  });

  it("random corruption (byte flips, garbage, splices) never throws anything but BatchFormatError", () => {
    const rand = rng(99);
    const f = sampleFrame(80);
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      const c = new Uint8Array(f);
      const flips = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < flips; k++) c[Math.floor(rand() * c.length)] = Math.floor(rand() * 256);
      if (decodeOrFormatError(c) === "error") errors++;
    }
    for (let i = 0; i < 500; i++) {
      const g = new Uint8Array(1 + Math.floor(rand() * 200)).map(() => Math.floor(rand() * 256));
      decodeOrFormatError(g);
    }
    assert.ok(errors > 1000, `most corruptions are detected (${errors}/3000)`);
  });

  it("a forged huge length is refused before anything is allocated", () => {
    // Array of 2^32-1 items, byte string of 2^53 bytes.
    for (const bytes of [
      [0x9a, 0xff, 0xff, 0xff, 0xff, 0x01],
      [0x8b, 0x01, 0x5b, 0x00, 0x20, 0, 0, 0, 0, 0, 0],
    ])
      assert.throws(() => decodeFrame(new Uint8Array(bytes)), /truncated/);
  });

  it("oversized frames are refused", () => {
    const f = sampleFrame(200);
    assert.throws(() => decodeFrame(f, { maxFrameBytes: f.length - 1 }), /exceeds the .*-byte limit/);
    assert.doesNotThrow(() => decodeFrame(f, { maxFrameBytes: f.length }));
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ["empty input", new Uint8Array(0), /truncated/],
    ["not an array", frameOf({ v: 1 } as unknown as unknown[]), /not a batch frame/],
    ["a map inside", frameOf(withField(1, { a: 1 })), /unexpected map/],
    ["version 2", frameOf(withField(0, 2)), /unsupported frame version 2 .*version 1/],
    ["version missing", frameOf(["x"]), /unsupported frame version x/],
    ["too few fields", frameOf(GOOD.slice(0, 10)), /11 fields, got 10/],
    ["entity not a string", frameOf(withField(1, [5])), /entities must be an array of strings/],
    ["channel refers to a missing series", frameOf(withField(4, [0, 0, 1])), /missing series/],
    ["channels not triples", frameOf(withField(4, [0, 0])), /triples/],
    ["count disagrees with a column", frameOf(withField(5, 3)), /ch has 2 entries, count says 3/],
    [
      "record refers to a missing channel",
      frameOf(withField(6, new Uint8Array([0, 1]))),
      /missing channel 1/,
    ],
    [
      "float timestamps column type",
      frameOf(withField(8, new Float32Array([0, 5]))),
      /unexpected tag 85|dt must be/,
    ],
    ["first delta not 0", frameOf(withField(8, new Int8Array([3, 5]))), /first timestamp delta must be 0/],
    ["t0 not a number", frameOf(withField(7, "now")), /t0 must be a timestamp/],
    ["t0 out of range", frameOf(withField(7, 1e17)), /t0 must be a timestamp/],
    ["scale out of range", frameOf(withField(9, 12)), /scale must be an integer/],
    [
      "float column with a decimal scale",
      frameOf(withField(10, new Float64Array([1, 2]))),
      /values must be one of/,
    ],
    ["trailing bytes", new Uint8Array([...frameOf(GOOD), 0]), /1 trailing bytes/],
    ["indefinite-length array", new Uint8Array([0x9f, 0x01, 0xff]), /indefinite-length/],
    ["foreign tag (a date)", frameOf(withField(7, new Date(0))), /unexpected tag 1/],
  ];
  for (const [name, bytes, message] of cases)
    it(`${name} → BatchFormatError`, () => {
      assert.throws(
        () => decodeFrame(bytes),
        (e: Error) => e instanceof BatchFormatError && message.test(e.message),
      );
    });

  it("a bad frame inside a sequence names the frame", () => {
    const good = sampleFrame(5);
    const seq = new Uint8Array([...good, ...frameOf(withField(0, 9))]);
    assert.throws(() => decodeFrames(seq), /frame 2 \(byte \d+\): .*version 9/);
  });

  it("a non-byte input is a BatchFormatError, not a TypeError", () => {
    assert.throws(() => decodeFrame("frame" as unknown as Uint8Array), BatchFormatError);
  });
});
