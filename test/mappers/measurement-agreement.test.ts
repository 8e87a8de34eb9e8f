/**
 * The c8y mapper validates measurements in its own one-pass serialiser (the hot path) instead of
 * calling `validateMeasurement`. This property test feeds both the same generated payloads (seeded,
 * reproducible: the seed is in the failure message) and requires the same verdict and message.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { measurementToC8y } from "../../src/api/clouds/c8y/measurement.ts";
import { validateMeasurement } from "../../src/api/payloads.ts";
import type { Entity } from "../../src/mappers/common/entities.ts";
import { rng as prng } from "../helpers/batch-random.ts";

const TIMES: unknown[] = [
  "2021-11-16T17:45:40.571760714+01:00",
  "2023-12-07T11:39:28Z",
  "yesterday",
  "",
  1701949168,
  1701949168.001,
  -377705116800,
  -377705116801,
  253402300799,
  253402300800,
  Number.NaN,
  true,
  null,
  [1],
  {},
];
const KEYS = ["temp", "x", "time", "type", "externalSource", "", "a b", "location", "ünits"];

function value(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * 10);
  if (k < 4) return (r() - 0.5) * 10 ** Math.floor(r() * 8);
  if (k === 4) return "text";
  if (k === 5) return null;
  if (k === 6) return [1, 2];
  if (k === 7) return r() < 0.5;
  return depth < 2 ? object(r, depth + 1) : 1;
}

function object(r: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const key = KEYS[Math.floor(r() * KEYS.length)]!;
    if (depth === 0 && key === "time") o.time = TIMES[Math.floor(r() * TIMES.length)];
    else if (depth === 0 && key === "type") o.type = r() < 0.7 ? "mine" : 5;
    else o[key] = value(r, depth);
  }
  return o;
}

const main: Entity = { topicId: "device/main//", kind: "device", externalId: "test-device", auto: false };
const ctx = { mainId: "test-device", root: "te", now: () => 1_700_000_000_000, maxPayloadBytes: 1 << 20 };

describe("measurement validation: api and the c8y fast path agree", () => {
  it("same verdict and same message for 20,000 generated payloads", () => {
    const seed = Number(process.env.LEDGE_PROPERTY_SEED ?? 0x1ed9e);
    const r = prng(seed);
    let oks = 0;
    let errors = 0;
    for (let i = 0; i < 20_000; i++) {
      const json = r() < 0.05 ? value(r, 0) : object(r, 0);
      const te = validateMeasurement(json);
      const b = measurementToC8y(json, main, "", undefined, ctx);
      const why = `seed ${seed}, case ${i}: ${JSON.stringify(json)}`;
      // Cumulocity's one rule of its own: thin-edge's c8y mapper refuses `externalSource` as a
      // measurement name (it is the child's source fragment); te/ itself and the other clouds accept it.
      const reserved = te.ok && "externalSource" in (json as object);
      const a = reserved
        ? { ok: false as const, error: "'externalSource' is reserved and cannot be a measurement name" }
        : te;
      assert.equal(b.ok, a.ok, why);
      if (!a.ok && !b.ok) assert.equal(b.error, a.error, why);
      if (a.ok) oks++;
      else errors++;
    }
    // Positive control: the generator reaches both outcomes often, so agreement is not vacuous.
    assert.ok(oks > 1000 && errors > 1000, `ok ${oks}, error ${errors}`);
  });
});
