/**
 * Bridge compaction benchmark: a backlog folded as the full queue folds it (60 s intervals), bytes
 * per measurement on disk (record framing and topic included) before and after. Two backlogs:
 *
 * - Cumulocity JSON measurements (10 series, one value per series per second for one hour, as the
 *   c8y mapper writes them);
 * - CBOR batch frames of the plain MQTT mapper (5 child devices × 10 series at 1 Hz, values at
 *   sensor resolution, one frame per 10 s as `mqtt.batch.max_age_ms` flushes them, one hour).
 *
 * Figures: `bridge.bytes_per_measurement_*`, `bridge.compact_*` in bench/results.json.
 */
import { Batcher } from "../src/batch/index.ts";
import { foldMeasurements } from "../src/bridge/compact.ts";
import { foldFrames } from "../src/bridge/compact-frames.ts";
import { type Foldable, type FoldResult, recordSize } from "../src/bridge/queue/types.ts";
import { type Figure, recordResults, table } from "./lib/results.ts";

const T0 = Date.UTC(2024, 0, 1);
const SECONDS = 3600;
const SERIES = 10;
const DEVICES = 5;

function jsonBacklog(): { records: Foldable[]; measurements: number } {
  const records: Foldable[] = [];
  for (let s = 0; s < SECONDS; s++)
    for (let k = 0; k < SERIES; k++) {
      const doc = {
        externalSource: { externalId: `gw-0001:device:sensor${k}`, type: "c8y_Serial" },
        type: "ThinEdgeMeasurement",
        time: new Date(T0 + s * 1000).toISOString(),
        temperature: { t: { value: 20 + Math.sin(s / 60 + k) * 5, unit: "°C" } },
      };
      records.push({
        seq: records.length,
        time: T0 + s * 1000,
        msg: {
          topic: "measurement/measurements/create",
          payload: Buffer.from(JSON.stringify(doc)),
          qos: 1,
          retain: false,
        },
      });
    }
  return { records, measurements: records.length };
}

function frameBacklog(): { records: Foldable[]; measurements: number } {
  const b = new Batcher({ maxBytes: 65536, maxCount: 1000, maxAgeMs: 10_000 });
  const records: Foldable[] = [];
  const push = (f: Uint8Array | undefined, ts: number) => {
    if (!f) return;
    const payload = new Uint8Array(f);
    b.release(f);
    records.push({
      seq: records.length,
      time: ts,
      msg: { topic: "ledge/gw-0001/batch", payload, qos: 1, retain: false },
    });
  };
  let measurements = 0;
  for (let s = 0; s < SECONDS; s++)
    for (let d = 0; d < DEVICES; d++)
      for (let k = 0; k < SERIES; k++) {
        const ts = T0 + s * 1000;
        // Slow sensor drift at 0.01 resolution, each device and series on its own phase.
        const value = Math.round((20 + k * 7 + Math.sin(s / 120 + d + k) * 3) * 100) / 100;
        push(b.append(`device/child${d}//`, "environment", `s${k}`, value, ts, ts), ts);
        measurements++;
      }
  push(b.flush(), T0 + SECONDS * 1000);
  return { records, measurements };
}

const bytes = (rs: Foldable[]) => rs.reduce((n, r) => n + recordSize(r.msg.topic, r.msg.payload), 0);

function measure(
  backlog: { records: Foldable[]; measurements: number },
  fold: (r: Foldable[]) => FoldResult,
) {
  const t = performance.now();
  const folded = fold(backlog.records);
  const ms = performance.now() - t;
  return {
    raw: bytes(backlog.records) / backlog.measurements,
    compacted: bytes(folded.out) / backlog.measurements,
    us: (ms * 1000) / backlog.measurements,
    recordsIn: backlog.records.length,
    recordsOut: folded.out.length,
    measurements: backlog.measurements,
  };
}

const json = measure(jsonBacklog(), (r) => foldMeasurements(r, 60_000));
const cbor = measure(frameBacklog(), (r) => foldFrames(r, 60_000));
const figures: Record<string, Figure> = {
  "bridge.bytes_per_measurement_raw": { value: json.raw, unit: "B" },
  "bridge.bytes_per_measurement_compacted": { value: json.compacted, unit: "B" },
  "bridge.compact_ratio": { value: json.raw / json.compacted, unit: "x" },
  "bridge.compact_us_per_measurement": { value: json.us, unit: "µs" },
  "bridge.bytes_per_measurement_cbor_raw": { value: cbor.raw, unit: "B" },
  "bridge.bytes_per_measurement_cbor_compacted": { value: cbor.compacted, unit: "B" },
  "bridge.compact_ratio_cbor": { value: cbor.raw / cbor.compacted, unit: "x" },
  "bridge.compact_cbor_us_per_measurement": { value: cbor.us, unit: "µs" },
};
const f = (v: number, d = 1) => v.toFixed(d);
const n = (v: number) => v.toLocaleString("en");
recordResults(
  "bridge-compact",
  figures,
  `## Bridge: compaction of a measurement backlog

A backlog folded as a full queue folds it (\`bridge.queue.compact_interval_s = 60\`: one
mean/min/max/count summary per series and minute), bytes on disk per original measurement
(record framing and topic included). Cumulocity JSON: ${n(json.measurements)} measurements (${SERIES} series × ${SECONDS} s,
one per second). CBOR batch frames: ${n(cbor.measurements)} readings (${DEVICES} child devices × ${SERIES} series × ${SECONDS} s) in
10 s frames, folded into frames of \`<series>\`, \`_min\`, \`_max\`, \`_count\`:

${table(
  ["", "bytes per measurement", "records", "folding µs per measurement"],
  [
    ["Cumulocity JSON, queued as published", f(json.raw), n(json.recordsIn), ""],
    ["Cumulocity JSON, after compaction", f(json.compacted, 2), n(json.recordsOut), f(json.us, 2)],
    ["CBOR frames, queued as published", f(cbor.raw, 2), n(cbor.recordsIn), ""],
    ["CBOR frames, after compaction", f(cbor.compacted, 2), n(cbor.recordsOut), f(cbor.us, 2)],
  ],
)}

Ratio **${f(json.raw / json.compacted)}×** for JSON, **${f(cbor.raw / cbor.compacted)}×** for frames (which start ${f(json.raw / cbor.raw, 0)}× smaller).`,
);
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
