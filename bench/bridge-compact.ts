/**
 * Bridge compaction benchmark: a backlog of Cumulocity JSON measurements (10 series, one value
 * per series per second for one hour, as the c8y mapper writes them) folded as the full queue
 * folds it (60 s intervals); bytes per measurement on disk before and after. Figures:
 * `bridge.bytes_per_measurement_*` in bench/results.json.
 */
import { foldMeasurements } from "../src/bridge/compact.ts";
import { type Foldable, recordSize } from "../src/bridge/queue/types.ts";
import { type Figure, recordResults, table } from "./lib/results.ts";

const TOPIC = "measurement/measurements/create";
const T0 = Date.UTC(2024, 0, 1);
const SERIES = 10;
const SECONDS = 3600;
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
      msg: { topic: TOPIC, payload: Buffer.from(JSON.stringify(doc)), qos: 1, retain: false },
    });
  }
const bytes = (rs: Foldable[]) => rs.reduce((n, r) => n + recordSize(r.msg.topic, r.msg.payload), 0);
const t = performance.now();
const folded = foldMeasurements(records, 60_000);
const ms = performance.now() - t;
const raw = bytes(records) / records.length;
const compacted = bytes(folded.out) / records.length;
const figures: Record<string, Figure> = {
  "bridge.bytes_per_measurement_raw": { value: raw, unit: "B" },
  "bridge.bytes_per_measurement_compacted": { value: compacted, unit: "B" },
  "bridge.compact_ratio": { value: raw / compacted, unit: "x" },
  "bridge.compact_us_per_measurement": { value: (ms * 1000) / records.length, unit: "µs" },
};
const f = (v: number, d = 1) => v.toFixed(d);
recordResults(
  "bridge-compact",
  figures,
  `## Bridge: compaction of a measurement backlog

${records.length.toLocaleString("en")} Cumulocity JSON measurements queued (${SERIES} series × ${SECONDS} s, one per
second), folded as a full queue folds them (\`bridge.queue.compact_interval_s = 60\`: one
mean/min/max/count summary per series and minute), bytes on disk per original measurement
(record framing and topic included):

${table(
  ["", "bytes per measurement", "records"],
  [
    ["queued as published", f(raw), records.length.toLocaleString("en")],
    ["after compaction", f(compacted, 2), folded.out.length.toLocaleString("en")],
  ],
)}

Ratio **${f(raw / compacted)}×**; folding costs ${f((ms * 1000) / records.length, 2)} µs per measurement.`,
);
process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
