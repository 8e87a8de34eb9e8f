import { Batcher, type BatchRecord, decodeFrame } from "../batch/index.ts";
import { isCborFrame } from "./kinds.ts";
import type { Foldable, FoldResult } from "./queue/types.ts";

/**
 * Compaction of queued CBOR batch frames (README "Telemetry batching"): the readings of every frame
 * on one topic are folded per series (entity, type, series) and interval into a mean, written as
 * new frames by the batch encoder itself, so the cloud decodes a summary like any frame:
 *
 * - a series with one reading in its interval keeps it as it is (value and timestamp);
 * - otherwise, at the timestamp of its earliest reading in the interval: `<series>` the mean, `<series>_min`,
 *   `<series>_max`, and `<series>_count` the number of readings folded (a group member
 *   `group.name` gets `group.name_min`, ...: `_min` lands beside `name` inside the group, as in the
 *   Thin Edge JSON summary).
 *
 * A reading `s` with `s_min`, `s_max` and a whole `s_count` ≥ 1 beside it (same entity, type and
 * timestamp) is taken as a summary when folded again: its mean weighs `s_count` readings. The new
 * frames take the queue positions of the last input frames of their topic, and are no larger than
 * `maxFrameBytes` (`mqtt.batch.max_bytes`, what the cloud takes from the mapper). A topic whose frames would not shrink, or one that does not decode, is
 * left as it is.
 */
export function foldFrames(records: Foldable[], intervalMs: number, maxFrameBytes = 65536): FoldResult {
  const byTopic = new Map<string, { frames: Foldable[]; readings: BatchRecord[][] }>();
  const kept: Foldable[] = [];
  for (const r of records) {
    if (!isCborFrame(r.msg.payload)) {
      kept.push(r);
      continue;
    }
    let readings: BatchRecord[];
    try {
      readings = decodeFrame(r.msg.payload);
    } catch {
      kept.push(r);
      continue;
    }
    const t = byTopic.get(r.msg.topic) ?? { frames: [], readings: [] };
    byTopic.set(r.msg.topic, t);
    t.frames.push(r);
    t.readings.push(readings);
  }
  let folded = 0;
  for (const { frames, readings } of byTopic.values()) {
    const out = fold(frames, readings, intervalMs, maxFrameBytes);
    if (out) folded += frames.length - out.length;
    kept.push(...(out ?? frames));
  }
  kept.sort((a, b) => a.seq - b.seq);
  return { out: kept, folded };
}

interface Acc {
  entity: string;
  type: string;
  series: string;
  ts: number;
  sum: number;
  min: number;
  max: number;
  n: number;
  /** Readings and summaries folded in: one alone is written back as it was. */
  parts: number;
}

/** A reading, or a summary's mean, extremes and count. */
interface Value {
  r: BatchRecord;
  min: number;
  max: number;
  n: number;
}

const SUFFIXES = ["_min", "_max", "_count"] as const;

/** The readings of one frame as values: summaries recognised by their companions. */
function values(readings: BatchRecord[]): Value[] {
  const at = new Map<string, Map<string, BatchRecord>>();
  for (const r of readings) {
    const k = `${r.entity}\0${r.type}\0${r.tsMs}`;
    const m = at.get(k);
    if (m) m.set(r.series, r);
    else at.set(k, new Map([[r.series, r]]));
  }
  const out: Value[] = [];
  for (const m of at.values()) {
    const taken = new Set<string>();
    for (const [s, r] of m) {
      const [min, max, count] = SUFFIXES.map((x) => m.get(`${s}${x}`));
      const n = count?.value;
      if (!min || !max || n === undefined || !Number.isInteger(n) || n < 1) continue;
      taken.add(s);
      for (const x of SUFFIXES) taken.add(`${s}${x}`);
      out.push({ r, min: min.value, max: max.value, n });
    }
    for (const [s, r] of m) if (!taken.has(s)) out.push({ r, min: r.value, max: r.value, n: 1 });
  }
  return out;
}

function fold(
  frames: Foldable[],
  readings: BatchRecord[][],
  intervalMs: number,
  maxBytes: number,
): Foldable[] | undefined {
  const groups = new Map<string, Acc>();
  for (const frame of readings)
    for (const { r, min, max, n } of values(frame)) {
      const key = `${r.entity}\0${r.type}\0${r.series}\0${Math.floor(r.tsMs / intervalMs)}`;
      const g = groups.get(key);
      if (!g) {
        groups.set(key, {
          entity: r.entity,
          type: r.type,
          series: r.series,
          ts: r.tsMs,
          sum: r.value * n,
          min,
          max,
          n,
          parts: 1,
        });
        continue;
      }
      g.ts = Math.min(g.ts, r.tsMs);
      g.sum += r.value * n;
      g.n += n;
      g.min = Math.min(g.min, min);
      g.max = Math.max(g.max, max);
      g.parts++;
    }
  const inputBytes = frames.reduce((n, f) => n + f.msg.payload.byteLength, 0);
  const made = encode(
    [...groups.values()].sort((a, b) => a.ts - b.ts),
    maxBytes,
  );
  const outBytes = made.reduce((n, f) => n + f.byteLength, 0);
  // Fewer records and fewer bytes, or nothing: a pass that frees nothing would repeat forever.
  if (made.length >= frames.length || outBytes >= inputBytes) return undefined;
  // The summaries take the positions of the last input frames: seqs stay unique and ordered.
  const slots = frames.slice(frames.length - made.length);
  return made.map((payload, i) => ({
    seq: slots[i]!.seq,
    time: slots[i]!.time,
    msg: { ...slots[i]!.msg, payload },
  }));
}

function encode(groups: Acc[], maxBytes: number): Uint8Array[] {
  const b = new Batcher({ maxBytes, maxCount: 65535, maxAgeMs: Number.MAX_SAFE_INTEGER });
  const frames: Uint8Array[] = [];
  const add = (g: Acc, series: string, value: number) => {
    const f = b.append(g.entity, g.type, series, value, g.ts, 0);
    if (f) {
      frames.push(new Uint8Array(f));
      b.release(f);
    }
  };
  for (const g of groups) {
    if (g.parts === 1 && g.n === 1) {
      add(g, g.series, g.sum);
      continue;
    }
    add(g, g.series, g.sum / g.n);
    add(g, `${g.series}_min`, g.min);
    add(g, `${g.series}_max`, g.max);
    add(g, `${g.series}_count`, g.n);
  }
  const last = b.flush();
  if (last) frames.push(new Uint8Array(last));
  return frames;
}
