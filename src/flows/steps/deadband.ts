/**
 * `deadband`: report by exception, per series (topic + measurement key). A value goes on only when
 * it moved at least `deadband` (absolute) or `percent` % from the last value sent; `deadband = 0`
 * (the default) sends every change and drops repeats. `max_age` still sends an unchanged value
 * that long after the last one (a heartbeat, so the cloud can tell "steady" from "dead").
 * A message whose every series is dropped is dropped; `time`/`type` ride along with what is left.
 */
import type { Step } from "../types.ts";
import { type Config, measurement, ms, num, optNum, series, setSeries } from "./common.ts";

export function deadband(c: Config): Step {
  const band = num(c, "deadband", 0);
  const percent = optNum(c, "percent");
  const maxAge = c.max_age === undefined ? Number.POSITIVE_INFINITY : ms(c, "max_age");
  if (band < 0 || (percent !== undefined && percent < 0))
    throw new Error("deadband and percent must be >= 0");
  const last = new Map<string, { v: number; at: number }>();
  return {
    onMessage(m) {
      const o = measurement(m);
      const now = m.time.getTime();
      const all = series(o);
      let kept = 0;
      for (const [name, v] of all) {
        const key = `${m.topic}\u0000${name}`;
        const prev = last.get(key);
        const delta = prev ? Math.abs(v - prev.v) : Number.POSITIVE_INFINITY;
        const limit = percent !== undefined && prev ? (Math.abs(prev.v) * percent) / 100 : band;
        const send = !prev || (delta > 0 && delta >= limit) || now - prev.at >= maxAge;
        if (send) {
          last.set(key, { v, at: now });
          kept++;
        } else setSeries(o, name, undefined);
      }
      if (all.length > 0 && kept === 0) return [];
      return kept === all.length ? m : { ...m, payload: JSON.stringify(o) };
    },
  };
}
