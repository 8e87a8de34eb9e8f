import { isObj, type Obj } from "../foundation/json.ts";
import { isC8yMeasurementTopic, isMeasurementTopic } from "./kinds.ts";
import type { Foldable, FoldResult, QueuedMessage } from "./queue/types.ts";

/**
 * Compaction of a queued backlog, so a long outage leaves lower resolution instead of a hole.
 * Measurements of one series (same topic, source, type) are folded per time interval into one
 * summary record; everything else (events, alarms, operation results, inventory, unknown payloads)
 * is kept as it is. Two measurement formats are recognised:
 *
 * - Cumulocity JSON (`measurement/measurements/create`): `{"type", "time", "externalSource"?,
 *   "<fragment>": {"<series>": {"value": n, "unit"?}}}`. The summary is a valid Cumulocity
 *   measurement: each series holds the mean, fragments `<fragment>_min` / `<fragment>_max` hold the
 *   extremes, and `"ledge_compacted": {"count": {"value": n}, "interval_s": {"value": s}}` says how
 *   many were folded.
 * - Thin Edge JSON on a measurement topic (a `/m/` level, as thin-edge's te/ and aws topics):
 *   `{"<series>": n, "<group>": {"<series>": n}, "time"?}`. The summary holds the mean per series,
 *   `<series>_min` and `<series>_max` beside it, and `"ledge_compacted_count": n` at the top.
 *
 * The summary's `time` is the first folded measurement's; it takes the queue position of the last.
 * Summaries fold again with measurements and summaries of the same series and interval (weighted by
 * their count), so a longer outage keeps one record per series and interval.
 */
type Json = Obj;
type Series = Map<string, { sum: number; min: number; max: number; n: number; unit?: unknown }>;

/** One series value of a document: a measurement (n = 1) or a summary's mean, extremes and count. */
interface Value {
  key: string;
  mean: number;
  min: number;
  max: number;
  n: number;
  unit?: unknown;
}

interface Group {
  topic: string;
  kind: "c8y" | "tedge";
  /** Everything of the first measurement that is not a series (type, externalSource, ...). */
  base: Json;
  time: string | number;
  series: Series;
  /** Measurements folded in (a summary counts as its count). */
  count: number;
  /** Input records. */
  records: number;
  lastSeq: number;
  first: Foldable;
}

const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function parse(msg: QueuedMessage): { kind: "c8y" | "tedge"; doc: Json; n: number } | undefined {
  const c8y = isC8yMeasurementTopic(msg.topic);
  if (!c8y && !isMeasurementTopic(msg.topic)) return undefined;
  const first = msg.payload[0];
  if (first !== 0x7b) return undefined; // "{": JSON objects only (CBOR frames pass untouched)
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(msg.payload).toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isObj(doc)) return undefined;
  // A summary made earlier: its count weighs its means.
  const { ledge_compacted: lc, ledge_compacted_count: tc, ...rest } = doc;
  const n = c8y
    ? isObj(lc) && isObj(lc.count)
      ? lc.count.value
      : lc === undefined
        ? 1
        : undefined
    : (tc ?? 1);
  if (!num(n) || n < 1) return undefined;
  return { kind: c8y ? "c8y" : "tedge", doc: rest, n };
}

/**
 * Series of a document (keys `fragment\0series`); undefined when it is not purely a measurement.
 * In a summary (n > 1) the `_min`/`_max` companions give the extremes.
 */
function seriesOf(kind: "c8y" | "tedge", doc: Json, n: number): { base: Json; values: Value[] } | undefined {
  const base: Json = {};
  const raw = new Map<string, { v: number; unit?: unknown }>();
  for (const [k, v] of Object.entries(doc)) {
    if (k === "time") continue;
    if (kind === "c8y") {
      if (k === "type" || k === "externalSource") {
        base[k] = v;
        continue;
      }
      if (!isObj(v)) return undefined;
      for (const [s, leaf] of Object.entries(v)) {
        if (!isObj(leaf) || !num(leaf.value)) return undefined;
        raw.set(`${k}\0${s}`, { v: leaf.value, unit: leaf.unit });
      }
    } else if (num(v)) raw.set(`\0${k}`, { v });
    else if (isObj(v)) {
      for (const [s, leaf] of Object.entries(v)) {
        if (!num(leaf)) return undefined;
        raw.set(`${k}\0${s}`, { v: leaf });
      }
    } else if (k === "type" && typeof v === "string") base[k] = v;
    else return undefined;
  }
  // c8y puts a summary's extremes in fragments `<f>_min`/`<f>_max`, Thin Edge JSON in series `<s>_min`.
  const companion = (key: string, suffix: string) => {
    const [f, s] = key.split("\0") as [string, string];
    return kind === "c8y" ? `${f}${suffix}\0${s}` : `${f}\0${s}${suffix}`;
  };
  const isCompanion = (key: string) =>
    n > 1 &&
    [...raw.keys()].some((k) => k !== key && (companion(k, "_min") === key || companion(k, "_max") === key));
  const values: Value[] = [];
  for (const [key, { v, unit }] of raw) {
    if (isCompanion(key)) continue;
    const min = n > 1 ? raw.get(companion(key, "_min"))?.v : v;
    const max = n > 1 ? raw.get(companion(key, "_max"))?.v : v;
    if (min === undefined || max === undefined) return undefined;
    values.push({ key, mean: v, min, max, n, unit });
  }
  return values.length ? { base, values } : undefined;
}

function summary(g: Group, intervalMs: number): QueuedMessage {
  const doc: Json = { ...g.base, time: g.time };
  const put = (frag: string, name: string, value: unknown) => {
    if (frag === "") doc[name] = value;
    else {
      if (!isObj(doc[frag])) doc[frag] = {};
      (doc[frag] as Json)[name] = value;
    }
  };
  for (const [key, s] of g.series) {
    const [frag, name] = key.split("\0") as [string, string];
    const mean = s.sum / s.n;
    if (g.kind === "c8y") {
      const leaf = (v: number) => (s.unit === undefined ? { value: v } : { value: v, unit: s.unit });
      put(frag, name, leaf(mean));
      put(`${frag}_min`, name, leaf(s.min));
      put(`${frag}_max`, name, leaf(s.max));
    } else {
      put(frag, name, mean);
      put(frag, `${name}_min`, s.min);
      put(frag, `${name}_max`, s.max);
    }
  }
  if (g.kind === "c8y")
    doc.ledge_compacted = { count: { value: g.count }, interval_s: { value: intervalMs / 1000 } };
  else doc.ledge_compacted_count = g.count;
  return { topic: g.topic, payload: Buffer.from(JSON.stringify(doc)), qos: 1, retain: g.first.msg.retain };
}

/** Folds the measurements among `records` (in queue order) per series and `intervalMs` bucket. */
export function foldMeasurements(records: Foldable[], intervalMs: number): FoldResult {
  const groups = new Map<string, Group>();
  const kept: FoldResult["out"] = [];
  let inputs = 0;
  for (const r of records) {
    const p = parse(r.msg);
    const s = p && seriesOf(p.kind, p.doc, p.n);
    if (!p || !s) {
      kept.push(r);
      continue;
    }
    const when =
      typeof p.doc.time === "string" ? Date.parse(p.doc.time) : num(p.doc.time) ? p.doc.time * 1000 : r.time;
    const bucket = Math.floor((Number.isFinite(when) ? when : r.time) / intervalMs);
    const key = JSON.stringify([r.msg.topic, s.base, bucket, s.values.map((v) => v.key)]);
    let g = groups.get(key);
    if (!g) {
      g = {
        topic: r.msg.topic,
        kind: p.kind,
        base: s.base,
        time: (p.doc.time as string | number | undefined) ?? new Date(r.time).toISOString(),
        series: new Map(),
        count: 0,
        records: 0,
        lastSeq: r.seq,
        first: r,
      };
      groups.set(key, g);
    }
    inputs++;
    g.records++;
    g.count += p.n;
    g.lastSeq = r.seq;
    for (const v of s.values) {
      const acc = g.series.get(v.key);
      if (acc) {
        acc.sum += v.mean * v.n;
        acc.n += v.n;
        acc.min = Math.min(acc.min, v.min);
        acc.max = Math.max(acc.max, v.max);
      } else g.series.set(v.key, { sum: v.mean * v.n, min: v.min, max: v.max, n: v.n, unit: v.unit });
    }
  }
  // A measurement alone in its interval stays as it is: a summary of one would only be larger.
  const made = [...groups.values()].map((g) =>
    g.records === 1 ? g.first : { seq: g.lastSeq, time: g.first.time, msg: summary(g, intervalMs) },
  );
  const out = [...kept, ...made];
  out.sort((a, b) => a.seq - b.seq);
  return { out, folded: inputs - groups.size };
}
