/** Table-driven tests for the pure parts of the Modbus driver: codecs, coalescing, timing, queue, writes, messages. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decode, decodeRaw, type Encoding, encode, widthOf } from "../../src/drivers/modbus/codec.ts";
import type { DeviceConfig, PointConfig } from "../../src/drivers/modbus/config.ts";
import { planReads, splitBlock } from "../../src/drivers/modbus/planner.ts";
import { pointErrorEvents } from "../../src/drivers/modbus/point-errors.ts";
import { PortQueue } from "../../src/drivers/modbus/port-queue.ts";
import { alarmMessages, decodeBlock, measurementMessages } from "../../src/drivers/modbus/readings.ts";
import { backoffDelay, missedSlots, nextSlot } from "../../src/drivers/modbus/schedule.ts";
import { resolveWrite } from "../../src/drivers/modbus/write.ts";

const enc = (
  type: Encoding["type"],
  byteOrder: "big" | "little" = "big",
  wordOrder: "big" | "little" = "big",
): Encoding => ({
  type,
  byteOrder,
  wordOrder,
  scale: 1,
  offset: 0,
});

describe("register codecs", () => {
  const rows: [string, Encoding, number[], number][] = [
    ["bool from non-zero register", enc("bool"), [7], 1],
    ["bool from zero", enc("bool"), [0], 0],
    ["uint16", enc("uint16"), [0xfffe], 65534],
    ["int16 negative", enc("int16"), [0xfffe], -2],
    ["int16 little byte order", enc("int16", "little"), [0xfeff], -2],
    ["int32 ABCD", enc("int32"), [0xfffe, 0x7960], -100000],
    ["int32 CDAB (little word order)", enc("int32", "big", "little"), [0x7960, 0xfffe], -100000],
    ["int32 BADC (little byte order)", enc("int32", "little", "big"), [0xfeff, 0x6079], -100000],
    ["int32 DCBA", enc("int32", "little", "little"), [0x6079, 0xfeff], -100000],
    ["uint32 ABCD", enc("uint32"), [0xb2d0, 0x5e00], 3000000000],
    ["uint32 CDAB", enc("uint32", "big", "little"), [0x5e00, 0xb2d0], 3000000000],
    ["float32 ABCD", enc("float32"), [0x41ac, 0x0000], 21.5],
    ["float32 CDAB", enc("float32", "big", "little"), [0x0000, 0x41ac], 21.5],
    ["float32 BADC", enc("float32", "little", "big"), [0xe8c0, 0x0000], -7.25],
    ["float32 DCBA", enc("float32", "little", "little"), [0x0000, 0xe8c0], -7.25],
    ["float64 ABCD", enc("float64"), [0x4009, 0x21fb, 0x5444, 0x2d18], Math.PI],
    ["float64 GHEFCDAB", enc("float64", "big", "little"), [0x2d18, 0x5444, 0x21fb, 0x4009], Math.PI],
    ["float64 HGFEDCBA", enc("float64", "little", "little"), [0x182d, 0x4454, 0xfb21, 0x0940], Math.PI],
    ["int64 ABCDEFGH", enc("int64"), [0xffff, 0xffff, 0xffff, 0xfffe], -2],
    [
      "int64 little word order",
      enc("int64", "big", "little"),
      [0x5e00, 0xb2d0, 0x0001, 0x0000],
      2 ** 32 + 3000000000,
    ],
    ["uint64 energy counter", enc("uint64"), [0x0000, 0x0001, 0x0000, 0x0000], 2 ** 32],
    ["uint64 up to 2^53 exactly", enc("uint64"), [0x001f, 0xffff, 0xffff, 0xffff], Number.MAX_SAFE_INTEGER],
  ];
  for (const [name, e, regs, value] of rows) {
    test(`${name}: ${regs.map((r) => r.toString(16)).join(" ")} ↔ ${value}`, () => {
      assert.equal(decode(regs, e), value);
      const back = encode(value, e);
      assert.ok(back.ok);
      if (e.type !== "bool") assert.deepEqual(back.registers, regs);
    });
  }

  test("strings: two characters per register, NULs and trailing blanks dropped, byte order honoured", () => {
    const str = (byteOrder: "big" | "little" = "big"): Encoding => ({
      ...enc("string", byteOrder),
      length: 4,
    });
    assert.equal(decode([0x534d, 0x4131, 0x3030, 0x0000], str()), "SMA100");
    assert.equal(decode([0x4d53, 0x3141, 0x3030, 0x2020], str("little")), "SMA100");
    assert.equal(widthOf("string", 4), 4);
    assert.match(String((encode(1, str()) as { error: string }).error), /string points are read-only/);
  });

  test("bit fields: one bit or a run of bits of an integer, read-only", () => {
    const bit = (start: number, count = 1): Encoding => ({ ...enc("uint16"), bits: { start, count } });
    assert.equal(decode([0b1010_0000_0000_1000], bit(3)), 1);
    assert.equal(decode([0b1010_0000_0000_1000], bit(2)), 0);
    assert.equal(decode([0b1010_0000_0000_1000], bit(13, 3)), 0b101);
    assert.equal(decode([0x8000, 0, 0, 0], { ...enc("uint64"), bits: { start: 63, count: 1 } }), 1);
    assert.match(String((encode(1, bit(3)) as { error: string }).error), /bit field points are read-only/);
  });

  test("scale and offset: value = raw * scale + offset, and back", () => {
    const e = { ...enc("int16"), scale: 0.1, offset: -40 };
    assert.ok(Math.abs(Number(decode([650], e)) - 25) < 1e-9);
    assert.deepEqual(encode(25, e), { ok: true, registers: [650] });
  });

  const refused: [string, number | boolean, Encoding, RegExp][] = [
    ["uint16 above range", 70000, enc("uint16"), /outside uint16 range/],
    ["uint16 negative", -1, enc("uint16"), /outside uint16 range/],
    ["int16 above range", 40000, enc("int16"), /outside int16 range/],
    ["int32 below range", -3e9, enc("int32"), /outside int32 range/],
    ["bool from 2", 2, enc("bool"), /bool value/],
    ["NaN", Number.NaN, enc("float32"), /finite/],
    ["float32 overflow", 1e39, enc("float32"), /float32 range/],
  ];
  for (const [name, value, e, re] of refused) {
    test(`encode refuses ${name}`, () => {
      const r = encode(value, e);
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, re);
    });
  }

  test("widths and wrong register counts", () => {
    assert.deepEqual(
      (["bool", "int16", "uint16", "int32", "uint32", "float32", "float64"] as const).map(widthOf),
      [1, 1, 1, 2, 2, 2, 4],
    );
    assert.throws(() => decodeRaw([1], enc("float32")), /needs 2 registers/);
  });
});

describe("request coalescing", () => {
  const p = (table: PointConfig["table"], address: number, width = 1) => ({ table, address, width });
  const rows: [string, ReturnType<typeof p>[], number, { table: string; start: number; count: number }[]][] =
    [
      [
        "adjacent registers: one read",
        [p("holding", 0), p("holding", 1), p("holding", 2, 2)],
        0,
        [{ table: "holding", start: 0, count: 4 }],
      ],
      [
        "gap larger than max_gap: two reads",
        [p("holding", 0), p("holding", 10)],
        8,
        [
          { table: "holding", start: 0, count: 1 },
          { table: "holding", start: 10, count: 1 },
        ],
      ],
      [
        "gap within max_gap: one read",
        [p("holding", 0), p("holding", 9)],
        8,
        [{ table: "holding", start: 0, count: 10 }],
      ],
      [
        "tables never mix",
        [p("holding", 0), p("input", 1), p("coil", 2), p("discrete_input", 3)],
        100,
        [
          { table: "coil", start: 2, count: 1 },
          { table: "discrete_input", start: 3, count: 1 },
          { table: "holding", start: 0, count: 1 },
          { table: "input", start: 1, count: 1 },
        ],
      ],
      [
        "at most 125 registers per read",
        [p("holding", 0), p("holding", 124), p("holding", 125)],
        200,
        [
          { table: "holding", start: 0, count: 125 },
          { table: "holding", start: 125, count: 1 },
        ],
      ],
      [
        "a float32 is never split across reads",
        [p("holding", 0), p("holding", 124, 2)],
        200,
        [
          { table: "holding", start: 0, count: 1 },
          { table: "holding", start: 124, count: 2 },
        ],
      ],
      [
        "at most 2000 coils per read",
        [p("coil", 0), p("coil", 1999), p("coil", 2000)],
        3000,
        [
          { table: "coil", start: 0, count: 2000 },
          { table: "coil", start: 2000, count: 1 },
        ],
      ],
      [
        "unsorted and overlapping points",
        [p("input", 5, 2), p("input", 0), p("input", 6)],
        4,
        [{ table: "input", start: 0, count: 7 }],
      ],
    ];
  for (const [name, points, maxGap, want] of rows) {
    test(name, () => {
      const got = planReads(points, { maxGap }).map(({ table, start, count }) => ({ table, start, count }));
      assert.deepEqual(got, want);
    });
  }

  test("a configured lower limit wins; every point is in exactly one block", () => {
    const points = Array.from({ length: 50 }, (_, i) => p("holding", i * 2, 2));
    const blocks = planReads(points, { maxGap: 0, maxRegisters: 16 });
    assert.ok(blocks.every((b) => b.count <= 16));
    assert.equal(blocks.length, Math.ceil(100 / 16));
    assert.deepEqual(
      blocks.flatMap((b) => b.points).sort((a, b) => a - b),
      points.map((_, i) => i),
    );
  });

  test("splitBlock reads each point alone", () => {
    const points = [p("holding", 0), p("holding", 5, 2)];
    const [block] = planReads(points, { maxGap: 10 });
    assert.deepEqual(
      splitBlock(block!, points).map(({ start, count }) => [start, count]),
      [
        [0, 1],
        [5, 2],
      ],
    );
  });
});

describe("poll timing and backoff", () => {
  test("slots are aligned to the start and never drift", () => {
    assert.equal(nextSlot(1000, 100, 999), 1000);
    assert.equal(nextSlot(1000, 100, 1000), 1100);
    assert.equal(nextSlot(1000, 100, 1150), 1200);
    assert.equal(nextSlot(1000, 100, 1399), 1400);
    assert.equal(missedSlots(1000, 100, 1350), 2);
    assert.equal(missedSlots(1000, 100, 1100), 0);
  });
  test("backoff doubles from the poll interval up to the cap", () => {
    const o = { baseMs: 1000, maxMs: 60000 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 50].map((f) => backoffDelay(f, o)),
      [1000, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
    );
    assert.equal(backoffDelay(3, { baseMs: 5000, maxMs: 1000 }), 5000, "never below the poll interval");
  });
});

describe("port queue", () => {
  test("runs jobs one at a time in order, refuses a key already waiting and stays bounded", async () => {
    const q = new PortQueue("line", 2);
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    assert.equal(
      q.enqueue("a", async () => {
        log.push("a start");
        await gate;
        log.push("a end");
      }),
      "queued",
    );
    assert.equal(
      q.enqueue("a", async () => {}),
      "busy",
      "a late poll is skipped, not queued twice",
    );
    assert.equal(
      q.enqueue("b", async () => void log.push("b")),
      "queued",
    );
    assert.equal(
      q.enqueue("c", async () => void log.push("c")),
      "queued",
    );
    assert.equal(
      q.enqueue("d", async () => void log.push("d")),
      "full",
    );
    assert.equal(q.size, 2);
    assert.equal(q.skipped, 2);
    for (let i = 0; i < 1000; i++) q.enqueue(`x${i}`, async () => {});
    assert.equal(q.size, 2, "never grows past its capacity");
    release();
    await q.close();
    assert.deepEqual(log.slice(0, 2), ["a start", "a end"]);
  });

  test("a follow-up job (retry) goes to the back and keeps its key", async () => {
    const q = new PortQueue("line", 4);
    const log: string[] = [];
    let tries = 0;
    const job = async () => {
      log.push(`dead ${++tries}`);
      return tries < 2 ? job : undefined;
    };
    q.enqueue("dead", job);
    q.enqueue("ok", async () => void log.push("ok"));
    assert.equal(
      q.enqueue("dead", async () => {}),
      "busy",
    );
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(log, ["dead 1", "ok", "dead 2"]);
  });

  test("a throwing job is reported and does not stop the queue", async () => {
    const errors: string[] = [];
    const q = new PortQueue("line", 4, (k) => errors.push(k));
    const log: string[] = [];
    q.enqueue("bad", async () => {
      throw new Error("boom");
    });
    q.enqueue("good", async () => void log.push("good"));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(errors, ["bad"]);
    assert.deepEqual(log, ["good"]);
  });
});

function device(points: PointConfig[], writes = true): DeviceConfig {
  return {
    name: "plc",
    type: "t",
    unitId: 1,
    transport: { kind: "tcp", host: "h", port: 502 },
    pollIntervalMs: 1000,
    timeoutMs: 100,
    retries: 0,
    maxGap: 0,
    maxRegisters: 125,
    maxBits: 2000,
    downAfter: 1,
    backoffMaxMs: 1000,
    writes,
    points,
  };
}
const point = (
  name: string,
  table: PointConfig["table"],
  address: number,
  e: Encoding,
  dest?: PointConfig["dest"],
): PointConfig => ({
  name,
  table,
  address,
  width: widthOf(e.type),
  encoding: e,
  dest: dest ?? { kind: "measurement", type: "modbus", series: name },
});

describe("modbus_write requests", () => {
  const dev = device([
    point("sp", "holding", 10, { ...enc("float32", "big", "little"), scale: 0.5, offset: 0 }),
    point("relay", "coil", 3, enc("bool")),
    point("temp", "input", 0, enc("int16")),
  ]);
  const rows: [string, Record<string, unknown>, unknown][] = [
    [
      "by point, scaled and word-swapped",
      { point: "sp", value: 42.5 },
      { table: "holding", address: 10, values: [0, 0x42aa] },
    ],
    ["coil by point", { point: "relay", value: true }, { table: "coil", address: 3, values: [1] }],
    [
      "raw uint16 by default",
      { table: "holding", address: 5, value: 7 },
      { table: "holding", address: 5, values: [7] },
    ],
    [
      "raw int32",
      { table: "holding", address: 5, type: "int32", value: -2 },
      { table: "holding", address: 5, values: [0xffff, 0xfffe] },
    ],
    ["raw coil", { table: "coil", address: 9, value: 0 }, { table: "coil", address: 9, values: [0] }],
    ["read-only table", { point: "temp", value: 1 }, /read-only/],
    ["unknown point", { point: "nope", value: 1 }, /no point 'nope'/],
    ["missing value", { point: "sp" }, /'value' must be/],
    ["out of range", { table: "holding", address: 1, type: "uint16", value: -5 }, /outside uint16/],
    ["bad table", { table: "register", address: 1, value: 1 }, /give 'point'/],
    ["bad address", { table: "holding", address: 70000, value: 1 }, /'address'/],
    [
      "coil with a register type",
      { table: "coil", address: 1, type: "int16", value: 1 },
      /coil takes type bool/,
    ],
  ];
  for (const [name, cmd, want] of rows) {
    test(name, () => {
      const r = resolveWrite(dev, cmd);
      if (want instanceof RegExp) {
        assert.equal(r.ok, false);
        assert.match((r as { error: string }).error, want);
      } else assert.deepEqual(r, { ok: true, value: want });
    });
  }
  test("writes disabled for the device", () => {
    const r = resolveWrite(device([], false), { table: "coil", address: 1, value: 1 });
    assert.equal(r.ok, false);
  });
});

describe("readings to te/ messages", () => {
  const points = [
    point("a", "holding", 0, enc("uint16"), { kind: "measurement", type: "power", series: "a" }),
    point("b", "holding", 1, enc("int16"), { kind: "measurement", type: "power", group: "L1", series: "v" }),
    point("c", "holding", 2, enc("uint16"), { kind: "measurement", type: "env", series: "t" }),
    point("hot", "holding", 3, enc("uint16"), {
      kind: "alarm",
      type: "hot",
      condition: ">=",
      threshold: 80,
      severity: "major",
      text: "Hot",
    }),
  ];
  const [block] = planReads(points, { maxGap: 0 });
  test("one measurement per type, groups one level deep, time is the read time", () => {
    const readings = decodeBlock(points, block!, [1, 0xffff, 3, 10]);
    const msgs = measurementMessages("te", "plc", readings, "2026-01-01T00:00:00.000Z");
    assert.deepEqual(
      msgs.map((m) => [m.topic, JSON.parse(String(m.payload)), m.retain]),
      [
        ["te/device/plc///m/power", { a: 1, L1: { v: -1 }, time: "2026-01-01T00:00:00.000Z" }, false],
        ["te/device/plc///m/env", { t: 3, time: "2026-01-01T00:00:00.000Z" }, false],
      ],
    );
  });
  test("alarm points: published on the first reading and on every crossing only", () => {
    const active = new Map<string, boolean>();
    const at = (v: number) =>
      alarmMessages("te", "plc", decodeBlock(points, block!, [0, 0, 0, v]), active, "T");
    assert.deepEqual(at(10), [{ topic: "te/device/plc///a/hot", payload: "", retain: true, qos: 1 }]);
    assert.deepEqual(at(20), []);
    const raised = at(80);
    assert.equal(raised.length, 1);
    assert.deepEqual(JSON.parse(String(raised[0]!.payload)), {
      text: "Hot",
      severity: "major",
      time: "T",
      value: 80,
    });
    assert.deepEqual(at(95), []);
    assert.equal(at(79)[0]!.payload, "");
  });
});

describe("point error events (issue 15: an exception on a point, named with its register, throttled)", () => {
  const err = (code: number) => ({
    point: "gone",
    table: "input",
    address: 500,
    code,
    text: `input 500: Modbus exception ${code}`,
  });
  const run = (
    errors: Map<string, ReturnType<typeof err>>,
    sent: Map<string, { at: number; text: string }>,
    now: number,
  ) =>
    pointErrorEvents({ root: "te", device: "d", errors, sent, now, everyMs: 1000, iso: "t" }).map(
      (m) => JSON.parse(String(m.payload)).text as string,
    );
  test("at once, then not again within the interval, again after it, again when the exception changes, forgotten when the point reads", () => {
    const sent = new Map<string, { at: number; text: string }>();
    const errors = new Map([["gone", err(2)]]);
    assert.deepEqual(run(errors, sent, 0), ["point 'gone' (input 500: Modbus exception 2)"]);
    assert.deepEqual(run(errors, sent, 999), []);
    assert.deepEqual(run(errors, sent, 1000), ["point 'gone' (input 500: Modbus exception 2)"]);
    errors.set("gone", err(4));
    assert.deepEqual(run(errors, sent, 1001), ["point 'gone' (input 500: Modbus exception 4)"]);
    errors.clear();
    assert.deepEqual(run(errors, sent, 1002), []);
    assert.equal(sent.size, 0);
    errors.set("gone", err(4));
    assert.deepEqual(run(errors, sent, 1003), ["point 'gone' (input 500: Modbus exception 4)"]);
  });
});
