import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Batcher, type BatchRecord, decodeFrame, toThinEdgeMessages } from "../../src/batch/index.ts";
import { openQueue } from "../../src/bridge/bridge-component.ts";
import { foldFrames } from "../../src/bridge/compact-frames.ts";
import type { Foldable, QueueEntry } from "../../src/bridge/queue/types.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { toml } from "./harness.ts";

/**
 * Issue 11, point 3: "CBOR frames already carry the series" — a backlog of batch frames folds into
 * per-series mean/min/max/count like JSON measurements. Frames are made by the real batch encoder.
 */
const T0 = Date.UTC(2024, 0, 1);
const TOPIC = "ledge/gw/batch";
type Reading = [entity: string, type: string, series: string, value: number, tsMs: number];

/** Frames of `perFrame` readings each, as the mapper's batcher makes them. */
function frames(readings: Reading[], perFrame: number): Uint8Array[] {
  const b = new Batcher({ maxBytes: 65536, maxCount: perFrame, maxAgeMs: 1e12 });
  const out: Uint8Array[] = [];
  for (const [e, t, s, v, ts] of readings) {
    const f = b.append(e, t, s, v, ts, 0);
    if (f) out.push(new Uint8Array(f));
  }
  const last = b.flush();
  if (last) out.push(new Uint8Array(last));
  return out;
}

let seq = 0;
const rec = (payload: Uint8Array, topic = TOPIC): Foldable => ({
  seq: seq++,
  time: T0,
  msg: { topic, payload, qos: 1, retain: false },
});

/** One reading per second of `series` for `seconds`, values 0, 1, 2, ... */
const ramp = (series: string, seconds: number, entity = "device/main//", type = "env", from = 0): Reading[] =>
  Array.from({ length: seconds }, (_, i) => [entity, type, series, i, T0 + (from + i) * 1000] as Reading);

const readingsOf = (out: Foldable[], topic = TOPIC): BatchRecord[] =>
  out.filter((r) => r.msg.topic === topic).flatMap((r) => decodeFrame(r.msg.payload));

/** Summary readings per series: [series, value] at each timestamp, sorted for comparison. */
const table = (rs: BatchRecord[]) =>
  rs
    .map((r) => [r.entity, r.type, r.series, r.value, r.tsMs - T0])
    .sort((a, b) => String(a).localeCompare(String(b)));

/** Readings each summary stands for: the `_count`s, plus readings with no companions. */
function represented(rs: BatchRecord[]): number {
  const counts = rs.filter((r) => r.series.endsWith("_count"));
  const summarised = new Set(
    counts.map((r) => `${r.entity}\0${r.type}\0${r.tsMs}\0${r.series.slice(0, -6)}`),
  );
  const companion = /_(min|max|count)$/;
  const raw = rs.filter(
    (r) => !companion.test(r.series) && !summarised.has(`${r.entity}\0${r.type}\0${r.tsMs}\0${r.series}`),
  );
  return counts.reduce((n, r) => n + r.value, 0) + raw.length;
}

interface Row {
  name: string;
  readings: Reading[];
  perFrame: number;
  /** Expected readings after folding (entity, type, series, value, ms after T0), any order. */
  want: (string | number)[][];
  folded: number;
}

/** The four readings of one summary: mean, count, max, min at `at` ms after T0. */
const summary = (
  e: string,
  t: string,
  series: string,
  mean: number,
  min: number,
  max: number,
  n: number,
  at = 0,
) => [
  [e, t, series, mean, at],
  [e, t, `${series}_count`, n, at],
  [e, t, `${series}_max`, max, at],
  [e, t, `${series}_min`, min, at],
];

const rows: Row[] = [
  {
    name: "one series, one minute in 6 frames: one frame with mean, _min, _max, _count at the earliest reading's time",
    readings: ramp("temp", 60),
    perFrame: 10,
    want: summary("device/main//", "env", "temp", 29.5, 0, 59, 60),
    folded: 5,
  },
  {
    name: "series of different entities, types and minutes stay apart",
    readings: [
      ...ramp("t", 120, "device/a//", "env"),
      ...ramp("t", 60, "device/b//", "env"),
      ...ramp("t", 60, "device/a//", "power"),
    ],
    perFrame: 20,
    want: [
      ...summary("device/a//", "env", "t", 29.5, 0, 59, 60),
      ...summary("device/a//", "env", "t", 89.5, 60, 119, 60, 60_000),
      ...summary("device/b//", "env", "t", 29.5, 0, 59, 60),
      ...summary("device/a//", "power", "t", 29.5, 0, 59, 60),
    ],
    folded: 11,
  },
  {
    name: "a reading alone in its interval keeps its value and timestamp; group members get _min beside the name",
    readings: [["device/main//", "env", "door", 1, T0 + 5_000], ...ramp("air.hum", 30)],
    perFrame: 8,
    want: [
      ["device/main//", "env", "door", 1, 5_000],
      ...summary("device/main//", "env", "air.hum", 14.5, 0, 29, 30),
    ],
    folded: 3,
  },
  {
    name: "a single frame is left as it is (folding it frees no record)",
    readings: ramp("temp", 60),
    perFrame: 100,
    want: ramp("temp", 60).map(([e, t, s, v, ts]) => [e, t, s, v, ts - T0]),
    folded: 0,
  },
];

describe("compaction of CBOR batch frames (pure, real encoder)", () => {
  for (const row of rows)
    it(row.name, () => {
      const input = frames(row.readings, row.perFrame).map((f) => rec(f));
      const r = foldFrames(input, 60_000);
      assert.equal(r.folded, row.folded);
      assert.equal(r.out.length, input.length - row.folded);
      const got = readingsOf(r.out);
      assert.deepEqual(
        table(got),
        table(
          row.want.map(
            ([e, t, s, v, ts]) =>
              ({ entity: e, type: t, series: s, value: v, tsMs: Number(ts) + T0 }) as BatchRecord,
          ),
        ),
      );
      assert.equal(represented(got), row.readings.length, "every reading in exactly one summary");
      for (let k = 1; k < r.out.length; k++) assert.ok(r.out[k - 1]!.seq < r.out[k]!.seq);
      if (row.folded)
        assert.ok(
          r.out.reduce((n, o) => n + o.msg.payload.byteLength, 0) <
            input.reduce((n, o) => n + o.msg.payload.byteLength, 0),
        );
    });

  it("summaries fold again, weighted by their count: the same as folding everything at once", () => {
    const all = frames(ramp("temp", 60), 10).map((f) => rec(f));
    const once = foldFrames(all, 60_000);
    const first = foldFrames(all.slice(0, 3), 60_000);
    const twice = foldFrames([...first.out, ...all.slice(3)], 60_000);
    assert.deepEqual(table(readingsOf(twice.out)), table(readingsOf(once.out)));
    assert.equal(first.folded + twice.folded, once.folded);
  });

  it("events and JSON records keep their place; frames of another topic fold apart; a damaged frame is kept", () => {
    const fs = frames(ramp("temp", 60), 10);
    const other = frames(ramp("rpm", 60), 20);
    const damaged = new Uint8Array(fs[0]!);
    damaged[damaged.length - 1]! ^= 1;
    const event = {
      topic: "ledge/gw/e/door",
      payload: Buffer.from('{"text":"open"}'),
      qos: 1 as const,
      retain: false,
    };
    const input = [
      rec(fs[0]!),
      rec(other[0]!, "ledge/gw2/batch"),
      rec(damaged),
      { ...rec(event.payload), msg: event },
      ...fs.slice(1).map((f) => rec(f)),
      ...other.slice(1).map((f) => rec(f, "ledge/gw2/batch")),
    ];
    const r = foldFrames(input, 60_000);
    assert.equal(r.folded, 5 + 2);
    assert.ok(
      r.out.some((o) => o.msg.payload === damaged),
      "damaged frame kept as it is",
    );
    assert.ok(
      r.out.some((o) => o.msg === event),
      "event kept",
    );
    assert.equal(represented(readingsOf(r.out, "ledge/gw2/batch")), 60);
    const te = toThinEdgeMessages(readingsOf(r.out, "ledge/gw2/batch"));
    assert.deepEqual(JSON.parse(te[0]!.payload), {
      rpm: 29.5,
      rpm_min: 0,
      rpm_max: 59,
      rpm_count: 60,
      time: new Date(T0).toISOString(),
    });
    for (let k = 1; k < r.out.length; k++) assert.ok(r.out[k - 1]!.seq < r.out[k]!.seq);
  });
});

describe("the plain MQTT cloud's queue folds batch frames (mqtt.batch.enable)", () => {
  for (const store of ["memory", "disk"])
    it(`${store}: a full queue of frames keeps every reading in a summary, and the event between them`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "ledge-frames-"));
      try {
        writeFileSync(
          join(dir, "ledge.toml"),
          toml({
            "data.path": join(dir, "data"),
            "mqtt.batch.enable": true,
            "bridge.queue.store": store,
            // Four segments of 64 KiB: compaction folds closed segments.
            "bridge.queue.max_bytes": 256 << 10,
          }),
        );
        const config = loadConfig(dir, {});
        const q = await openQueue(config, "mqtt", { log: createLogger({ level: "error", write: () => {} }) });
        // Twelve hours of one series at 1 Hz in 10 s frames: ~400 KiB raw, over the bound.
        const fs = frames(ramp("temp", 12 * 3600), 10);
        const event = Buffer.from('{"text":"open"}');
        fs.forEach((f, i) => {
          q.append({ topic: TOPIC, payload: f, qos: 1, retain: false });
          if (i === 1000) q.append({ topic: "ledge/gw/e/door", payload: event, qos: 1, retain: false });
        });
        const got: QueueEntry[] = [];
        for (let e = q.next(); e; e = q.next()) got.push(e);
        const s = q.stats();
        q.close();
        assert.equal(s.dropped.full, 0, "compaction freed room: nothing dropped");
        assert.ok(s.dropped.compacted > 1000, `compacted ${s.dropped.compacted}`);
        assert.equal(got.length + s.drops, fs.length + 1);
        assert.deepEqual(
          got.filter((e) => e.topic !== TOPIC).map((e) => Buffer.from(e.payload).toString()),
          ['{"text":"open"}'],
        );
        assert.equal(
          represented(readingsOf(got.map((e) => ({ seq: e.seq, time: e.time, msg: e })))),
          12 * 3600,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
