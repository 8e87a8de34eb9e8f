/**
 * Decoded records → Thin Edge JSON measurement messages, one per (entity, type, timestamp): the
 * inverse of Batcher.appendMeasurement. Pure.
 */
import type { BatchRecord } from "./format.ts";

export interface TeMessage {
  topic: string;
  /** Thin Edge JSON: series, `group: {name: value}` for `group.name` series, then `time` (ISO 8601). */
  payload: string;
}

type Values = Record<string, number | Record<string, number>>;

interface Pending {
  topic: string;
  time: number;
  values: Values;
}

/**
 * Messages in order of their first record. A series met twice for the same entity, type and time
 * starts a new message, which later readings of that key join, rather than overwrite (no data loss).
 */
export function toThinEdgeMessages(records: readonly BatchRecord[], root = "te"): TeMessage[] {
  const open = new Map<string, Pending>();
  const order: Pending[] = [];
  for (const r of records) {
    const key = `${r.entity}\u0000${r.type}\u0000${r.tsMs}`;
    let msg = open.get(key);
    if (!msg || !place(msg.values, r.series, r.value)) {
      msg = { topic: `${root}/${r.entity}/m/${r.type}`, time: r.tsMs, values: {} };
      open.set(key, msg);
      order.push(msg);
      place(msg.values, r.series, r.value);
    }
  }
  return order.map((m) => ({ topic: m.topic, payload: render(m.values, m.time) }));
}

/** Puts a value at its series path; false when that place is taken (or the shape conflicts). */
function place(values: Values, series: string, value: number): boolean {
  const dot = series.indexOf(".");
  if (dot <= 0 || dot === series.length - 1) {
    if (Object.hasOwn(values, series)) return false;
    values[series] = value;
    return true;
  }
  const group = series.slice(0, dot);
  const name = series.slice(dot + 1);
  const g = Object.hasOwn(values, group) ? values[group] : undefined;
  if (typeof g === "number") return false;
  if (g && Object.hasOwn(g, name)) return false;
  if (g) g[name] = value;
  else values[group] = { [name]: value };
  return true;
}

/**
 * JSON cannot carry NaN or ±Infinity (thin-edge rejects them anyway): they are written as the
 * strings "NaN", "Infinity", "-Infinity" so nothing is silently dropped.
 */
function render(values: Values, tsMs: number): string {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === "number") obj[k] = num(v);
    else {
      const g: Record<string, unknown> = {};
      for (const [s, sv] of Object.entries(v)) g[s] = num(sv);
      obj[k] = g;
    }
  }
  obj.time = new Date(tsMs).toISOString();
  return JSON.stringify(obj);
}

function num(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}
