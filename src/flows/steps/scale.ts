/**
 * `scale`: unit conversion and linear scaling per series. `[steps.config.series.<name>]` with
 * `factor` (default 1) and `offset` (default 0): v' = v × factor + offset; or `from`/`to` units
 * from the table below; `round` digits; `rename` the series. Series not listed pass unchanged.
 */
import type { Step } from "../types.ts";
import { type Config, measurement, num, StepConfigError, series, setSeries, str, table } from "./common.ts";

/** Each unit as [factor, offset] to its base unit (base = factor × v + offset). */
const UNITS: Record<string, { base: string; f: number; o: number }> = {
  degC: { base: "K", f: 1, o: 273.15 },
  degF: { base: "K", f: 5 / 9, o: 273.15 - (32 * 5) / 9 },
  K: { base: "K", f: 1, o: 0 },
  Pa: { base: "Pa", f: 1, o: 0 },
  hPa: { base: "Pa", f: 100, o: 0 },
  kPa: { base: "Pa", f: 1000, o: 0 },
  bar: { base: "Pa", f: 100_000, o: 0 },
  psi: { base: "Pa", f: 6894.757293168, o: 0 },
  "m/s": { base: "m/s", f: 1, o: 0 },
  "km/h": { base: "m/s", f: 1 / 3.6, o: 0 },
  mph: { base: "m/s", f: 0.44704, o: 0 },
  W: { base: "W", f: 1, o: 0 },
  kW: { base: "W", f: 1000, o: 0 },
  Wh: { base: "J", f: 3600, o: 0 },
  kWh: { base: "J", f: 3_600_000, o: 0 },
  J: { base: "J", f: 1, o: 0 },
  mm: { base: "m", f: 0.001, o: 0 },
  m: { base: "m", f: 1, o: 0 },
  in: { base: "m", f: 0.0254, o: 0 },
  ft: { base: "m", f: 0.3048, o: 0 },
  mA: { base: "A", f: 0.001, o: 0 },
  A: { base: "A", f: 1, o: 0 },
  mV: { base: "V", f: 0.001, o: 0 },
  V: { base: "V", f: 1, o: 0 },
};

export const SCALE_UNITS = Object.keys(UNITS);

interface Rule {
  factor: number;
  offset: number;
  round?: number;
  rename?: string;
}

function rule(name: string, c: Config): Rule {
  let factor = num(c, "factor", 1);
  let offset = num(c, "offset", 0);
  if (c.from !== undefined || c.to !== undefined) {
    const from = UNITS[str(c, "from")];
    const to = UNITS[str(c, "to")];
    if (!from || !to || from.base !== to.base)
      throw new StepConfigError(
        `config.series.${name}: cannot convert ${String(c.from)} to ${String(c.to)} (units: ${SCALE_UNITS.join(", ")})`,
      );
    // v → base → to, after the linear scaling
    const f = from.f / to.f;
    offset = (offset * from.f + from.o - to.o) / to.f;
    factor *= f;
  }
  return {
    factor,
    offset,
    round: c.round === undefined ? undefined : num(c, "round"),
    rename: c.rename === undefined ? undefined : str(c, "rename"),
  };
}

export function scale(c: Config): Step {
  const rules = new Map(Object.entries(table(c, "series")).map(([k, v]) => [k, rule(k, v)]));
  return {
    onMessage(m) {
      const o = measurement(m);
      let changed = false;
      for (const [name, v] of series(o)) {
        const r = rules.get(name);
        if (!r) continue;
        let x = v * r.factor + r.offset;
        if (r.round !== undefined) x = Math.round(x * 10 ** r.round) / 10 ** r.round;
        if (r.rename) setSeries(o, name, undefined);
        setSeries(o, r.rename ?? name, x);
        changed = true;
      }
      return changed ? { ...m, payload: JSON.stringify(o) } : m;
    },
  };
}
