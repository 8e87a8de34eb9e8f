/**
 * `aggregate`: windowed statistics per series over `window` (default 60 s), windows aligned to the
 * clock (a 60 s window ends on the minute). Inputs are swallowed; when a window closes (on the
 * step's `onInterval`, or when a later message arrives) one message per topic is emitted with, for
 * each series, an object of the chosen `functions` (min, max, mean, count, last, sum):
 * `{"temperature":{"min":20,"max":22,"mean":21,"count":60},"time":"<window end>"}`. A series in
 * a group (`g.k`) becomes `"g":{"k_min":..,"k_max":..}`, since te/ measurements nest one level only.
 * `output_topic` sends every window to one topic instead of the input's.
 */
import type { OutMessage, Step } from "../types.ts";
import { type Config, measurement, ms, series, str, strList } from "./common.ts";

const FUNCTIONS = ["min", "max", "mean", "count", "last", "sum"] as const;
type Fn = (typeof FUNCTIONS)[number];

interface Acc {
  min: number;
  max: number;
  sum: number;
  count: number;
  last: number;
}

export function aggregate(c: Config): Step {
  const window = ms(c, "window", "60s");
  if (window <= 0) throw new Error("config.window must be more than 0");
  const fns = strList(c, "functions", ["min", "max", "mean", "count"]) as Fn[];
  const bad = fns.find((f) => !(FUNCTIONS as readonly string[]).includes(f));
  if (bad) throw new Error(`config.functions: unknown '${bad}' (known: ${FUNCTIONS.join(", ")})`);
  const outputTopic = c.output_topic === undefined ? undefined : str(c, "output_topic");
  let windowEnd: number | undefined;
  const acc = new Map<string, Map<string, Acc>>();

  const value = (a: Acc, f: Fn) =>
    f === "mean" ? Math.round((a.sum / a.count) * 1e6) / 1e6 : f === "count" ? a.count : a[f];
  const close = (): OutMessage[] => {
    const out: OutMessage[] = [];
    const time = new Date(windowEnd ?? 0).toISOString();
    for (const [topic, bySeries] of acc) {
      const body: Record<string, Record<string, number>> = {};
      for (const [name, a] of bySeries) {
        const dot = name.indexOf(".");
        const [group, prefix] = dot < 0 ? [name, ""] : [name.slice(0, dot), `${name.slice(dot + 1)}_`];
        const g = body[group] ?? {};
        body[group] = g;
        for (const f of fns) g[`${prefix}${f}`] = value(a, f);
      }
      out.push({ topic: outputTopic ?? topic, payload: JSON.stringify({ ...body, time }) });
    }
    acc.clear();
    windowEnd = undefined;
    return out;
  };
  const due = (now: number) => (windowEnd !== undefined && now >= windowEnd ? close() : []);

  return {
    onMessage(m) {
      const now = m.time.getTime();
      const out = due(now);
      const o = measurement(m);
      windowEnd ??= Math.floor(now / window) * window + window;
      const bySeries = acc.get(m.topic) ?? new Map<string, Acc>();
      acc.set(m.topic, bySeries);
      for (const [name, v] of series(o)) {
        const a = bySeries.get(name);
        if (!a) bySeries.set(name, { min: v, max: v, sum: v, count: 1, last: v });
        else {
          a.min = Math.min(a.min, v);
          a.max = Math.max(a.max, v);
          a.sum += v;
          a.count++;
          a.last = v;
        }
      }
      return out;
    },
    onInterval: (time) => due(time.getTime()),
  };
}
