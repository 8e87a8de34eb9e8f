import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { foldMeasurements } from "../../src/bridge/compact.ts";
import type { Foldable } from "../../src/bridge/queue/types.ts";

const T0 = Date.UTC(2024, 0, 1);
const rec = (seq: number, topic: string, doc: unknown, time = T0 + seq * 1000): Foldable => ({
  seq,
  time,
  msg: {
    topic,
    payload: Buffer.from(typeof doc === "string" ? doc : JSON.stringify(doc)),
    qos: 1,
    retain: false,
  },
});
const json = (r: { msg: { payload: Uint8Array } }) => JSON.parse(Buffer.from(r.msg.payload).toString());
const C8Y = "measurement/measurements/create";
const c8yTemp = (seq: number, v: number, src?: string) =>
  rec(seq, C8Y, {
    type: "ThinEdgeMeasurement",
    time: new Date(T0 + seq * 1000).toISOString(),
    ...(src ? { externalSource: { externalId: src, type: "c8y_Serial" } } : {}),
    temp: { temp: { value: v, unit: "C" } },
  });

describe("compaction: measurements folded per series and interval (pure)", () => {
  it("Cumulocity JSON: one valid measurement per series and minute with mean, _min/_max fragments and the count", () => {
    const recs = [0, 1, 2, 3].map((i) => c8yTemp(i, 20 + i));
    const r = foldMeasurements(recs, 60_000);
    assert.equal(r.folded, 3);
    assert.equal(r.out.length, 1);
    assert.equal(r.out[0]!.seq, 3, "takes the position of the last member");
    assert.deepEqual(json(r.out[0]!), {
      type: "ThinEdgeMeasurement",
      time: new Date(T0).toISOString(),
      temp: { temp: { value: 21.5, unit: "C" } },
      temp_min: { temp: { value: 20, unit: "C" } },
      temp_max: { temp: { value: 23, unit: "C" } },
      ledge_compacted: { count: { value: 4 }, interval_s: { value: 60 } },
    });
  });

  it("series of different sources, types or intervals stay apart; events, alarms and operation results are kept in order", () => {
    const recs = [
      c8yTemp(0, 1),
      c8yTemp(1, 2, "child1"),
      rec(2, "s/us", "301,gateway_alarm,too hot"),
      rec(3, "event/events/create", { type: "login", text: "hi" }),
      c8yTemp(4, 3),
      c8yTemp(5, 4, "child1"),
      rec(6, "s/us", "503,c8y_Restart"),
      c8yTemp(70, 5),
    ];
    const r = foldMeasurements(recs, 60_000);
    assert.deepEqual(
      r.out.map((o) => o.seq),
      [2, 3, 4, 5, 6, 70],
    );
    assert.equal(r.folded, 2);
    assert.equal(json(r.out[2]!).ledge_compacted.count.value, 2);
    assert.deepEqual(json(r.out[3]!).externalSource, { externalId: "child1", type: "c8y_Serial" });
    assert.deepEqual(json(r.out[5]!), json(recs[7]!), "alone in its interval: kept as it is");
  });

  it("Thin Edge JSON on a measurement topic: mean with _min/_max beside each series, count at the top", () => {
    const topic = "thinedge/gw/td/device:main/m/env";
    const recs = [
      rec(0, topic, { temp: 20, env: { hum: 50 } }),
      rec(1, topic, { temp: 22, env: { hum: 70 }, time: new Date(T0 + 1000).toISOString() }),
    ];
    const r = foldMeasurements(recs, 60_000);
    assert.deepEqual(json(r.out[0]!), {
      temp: 21,
      temp_min: 20,
      temp_max: 22,
      env: { hum: 60, hum_min: 50, hum_max: 70 },
      time: new Date(T0).toISOString(),
      ledge_compacted_count: 2,
    });
  });

  it("never folds what it does not understand: CBOR, text, mixed documents, summaries", () => {
    const topic = "ledge/gw/m/env";
    const recs = [
      rec(0, topic, "\u00a1binary"),
      rec(1, topic, { temp: 1, text: "not a number" }),
      rec(2, topic, { temp: 1, ledge_compacted_count: 3 }),
      rec(3, "a/e/login", { temp: 1 }),
      rec(4, "a/e/login", { temp: 2 }),
    ];
    const r = foldMeasurements(recs, 60_000);
    assert.equal(r.folded, 0);
    assert.deepEqual(
      r.out.map((o) => o.seq),
      [0, 1, 2, 3, 4],
    );
  });
});
