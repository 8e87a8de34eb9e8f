/** Seeded random batches for the batching tests: awkward values, names and timestamps on purpose. */
import type { BatchRecord } from "../../src/batch/index.ts";

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  0,
  2 ** 53,
  -(2 ** 53),
  2 ** 31,
  -(2 ** 31) - 1,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  1e300,
  0.1,
  1 / 3,
  21.37,
  -40.5,
];
const NAMES = ["temperature", "humidity", "Température", "温度", "🌡️", "a.b", "x", "power.L1", "power.L2"];

export interface RandomBatchOptions {
  count: number;
  entities?: number;
  /** Value flavour: "mixed" (everything), "decimal" (2-decimal sensor data), "int" (small integers). */
  values?: "mixed" | "decimal" | "int";
}

export function randomRecords(rand: () => number, o: RandomBatchOptions): BatchRecord[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const nEntities = o.entities ?? 3;
  const entities = Array.from({ length: nEntities }, (_, i) =>
    i === 0 ? "device/main//" : i % 7 === 3 ? `device/main/service/svc-${i}` : `device/child-${i}-ü//`,
  );
  const types = ["", "environment", "électrique", "m"];
  let t = 1_764_062_775_000 + Math.floor(rand() * 1e6);
  const out: BatchRecord[] = [];
  for (let i = 0; i < o.count; i++) {
    const r = rand();
    // Equal, increasing, decreasing (out of order), large gaps, and fractional milliseconds.
    if (r < 0.3) t += 0;
    else if (r < 0.6) t += Math.floor(rand() * 2000);
    else if (r < 0.75) t -= Math.floor(rand() * 5000);
    else if (r < 0.8) t += Math.floor(rand() * 1e11) - 5e10;
    else if (r < 0.82) t += 0.25;
    else t += 1000;
    out.push({
      entity: pick(entities),
      type: pick(types),
      series: pick(NAMES),
      value: randomValue(rand, o.values ?? "mixed"),
      tsMs: t,
    });
  }
  return out;
}

function randomValue(rand: () => number, kind: "mixed" | "decimal" | "int"): number {
  if (kind === "int") return Math.floor(rand() * 200) - 100;
  if (kind === "decimal") return Math.round((rand() * 2000 - 1000) * 100) / 100;
  const r = rand();
  if (r < 0.2) return SPECIAL[Math.floor(rand() * SPECIAL.length)]!;
  if (r < 0.4) return Math.floor(rand() * 1e6) - 5e5;
  if (r < 0.6) return Math.round(rand() * 1e5) / 1000;
  if (r < 0.8) return Math.fround(rand() * 100);
  return (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
}

/** Same value, NaN and -0 included (Object.is). */
export function sameRecords(a: readonly BatchRecord[], b: readonly BatchRecord[]): string | undefined {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.entity !== y.entity ||
      x.type !== y.type ||
      x.series !== y.series ||
      !Object.is(x.value, y.value) ||
      !Object.is(x.tsMs, y.tsMs)
    )
      return `record ${i}: ${show(x)} != ${show(y)}`;
  }
  return undefined;
}

function show(r: BatchRecord): string {
  return `${r.entity}|${r.type}|${r.series}|${Object.is(r.value, -0) ? "-0" : r.value}|${r.tsMs}`;
}
