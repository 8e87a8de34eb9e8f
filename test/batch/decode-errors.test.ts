import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Encoder, Tag } from "cbor-x";
import { Batcher, BatchFormatError, decodeFrame, decodeFrames } from "../../src/batch/index.ts";
import { crc32Portable } from "../../src/foundation/crc32.ts";
import { randomRecords, rng } from "../helpers/batch-random.ts";

function sampleFrame(count = 50, seed = 7): Uint8Array {
  const b = new Batcher({ maxCount: 100_000 });
  for (const r of randomRecords(rng(seed), { count }))
    b.append(r.entity, r.type, r.series, r.value, r.tsMs, 0);
  return new Uint8Array(b.flush()!);
}

const enc = new Encoder({ useRecords: false, tagUint8Array: false });
/** A hand-built frame from fields (the CRC-32 field appended), for errors the Batcher never makes. */
function frameOf(fields: unknown[]): Uint8Array {
  const b = new Uint8Array(enc.encode([...fields, 0xffffffff]));
  const end = b.length - 5;
  new DataView(b.buffer).setUint32(end + 1, crc32Portable(b.subarray(0, end)));
  return b;
}
/** An encoded CBOR sequence (tag 63) of the given items. */
const seq = (...items: unknown[]) =>
  new Tag(new Uint8Array(Buffer.concat(items.map((x) => enc.encode(x)))), 63);
const GOOD: unknown[] = [
  1,
  ["device/main//"],
  ["env"],
  ["t"],
  seq(0, 0, 0, 1),
  2,
  new Uint8Array([0, 0]),
  seq(1000, 5),
  seq(215, 1),
];
const withCrc = (frame: Uint8Array, crc: number) => {
  const b = new Uint8Array(frame);
  new DataView(b.buffer).setUint32(b.length - 4, crc);
  return b;
};
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

  it("every single-byte change anywhere in a frame is caught (CRC-32 or structure)", () => {
    const f = sampleFrame(60);
    for (let i = 0; i < f.length; i++)
      for (const x of [0x01, 0x80, 0xff]) {
        const c = new Uint8Array(f);
        c[i] = c[i]! ^ x;
        assert.equal(decodeOrFormatError(c), "error", `byte ${i} ^ 0x${x.toString(16)}`);
      }
  });

  it("random corruption (byte changes, garbage) is always a BatchFormatError, nothing else", () => {
    const rand = rng(99);
    const f = sampleFrame(80);
    for (let i = 0; i < 3000; i++) {
      const c = new Uint8Array(f);
      const flips = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < flips; k++) c[Math.floor(rand() * c.length)] = Math.floor(rand() * 256);
      const changed = c.some((v, j) => v !== f[j]);
      assert.equal(decodeOrFormatError(c), changed ? "error" : "ok");
    }
    for (let i = 0; i < 500; i++) {
      const g = new Uint8Array(1 + Math.floor(rand() * 200)).map(() => Math.floor(rand() * 256));
      decodeOrFormatError(g);
    }
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
    ["not an array", new Uint8Array(enc.encode({ v: 1 })), /not a batch frame/],
    ["a map inside", frameOf(withField(1, { a: 1 })), /unexpected map/],
    ["version 2", frameOf(withField(0, 2)), /unsupported frame version 2 .*version 1/],
    ["version missing", frameOf(["x"]), /unsupported frame version x/],
    ["too few fields", frameOf(GOOD.slice(0, 8)), /10 fields, got 9/],
    ["entity not a string", frameOf(withField(1, [5])), /entities must be an array of strings/],
    ["channel refers to a missing series", frameOf(withField(4, seq(0, 0, 1, 1))), /missing series/],
    [
      "channels not a sequence",
      frameOf(withField(4, [0, 0, 0, 1])),
      /channels must be an encoded CBOR sequence/,
    ],
    ["channels not quadruples", frameOf(withField(4, seq(0, 0, 0))), /quadruples/],
    ["scale out of range", frameOf(withField(4, seq(0, 0, 0, 12))), /has scale 12/],
    ["count disagrees with a column", frameOf(withField(5, 3)), /ch has 2 entries, count says 3/],
    [
      "record refers to a missing channel",
      frameOf(withField(6, new Uint8Array([0, 1]))),
      /missing channel 1/,
    ],
    ["times not a sequence", frameOf(withField(7, 1000)), /times must be an encoded CBOR sequence/],
    ["times too short", frameOf(withField(7, seq(1000))), /times ends before the last record/],
    ["times too long", frameOf(withField(7, seq(1000, 5, 5))), /times has more items than count/],
    ["a string in a sequence", frameOf(withField(7, seq(1000, "5"))), /times has a non-number item/],
    ["timestamp out of range", frameOf(withField(7, seq(9e15, 0))), /timestamp of record 0 is out of range/],
    ["float in a scaled channel", frameOf(withField(8, seq(215, 0.5))), /holds scaled integers, got a float/],
    ["integer in a float channel", frameOf(withField(4, seq(0, 0, 0, -1))), /holds floats, got an integer/],
    ["ch of the wrong type", frameOf(withField(6, "ab")), /ch must be a byte string/],
    ["wrong checksum", withCrc(frameOf(GOOD), 0x12345678), /checksum mismatch .* corrupt frame/],
    [
      "checksum not a 4-byte integer",
      new Uint8Array(enc.encode([...GOOD, 5])),
      /last field must be the CRC-32/,
    ],
    ["trailing bytes", new Uint8Array([...frameOf(GOOD), 0]), /1 trailing bytes/],
    ["indefinite-length array", new Uint8Array([0x9f, 0x01, 0xff]), /indefinite-length/],
    ["foreign tag (a date)", frameOf(withField(5, new Date(0))), /unexpected tag 1/],
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
