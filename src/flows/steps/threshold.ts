/**
 * `threshold`: a series crossing a limit raises a te/ alarm, and clears it once back past a second
 * limit (hysteresis, so a value hovering at the limit does not flap). `raise_above` + `clear_below`
 * (clear_below <= raise_above) or `raise_below` + `clear_above`. The alarm goes to
 * `<entity of the input>/a/<alarm_type>`, retained QoS 1, `{"severity","text","value"}`; the clear
 * is an empty retained message (DESIGN §2). The input passes on unless `pass_through = false`.
 */
import type { OutMessage, Step } from "../types.ts";
import { bool, type Config, entityOf, measurement, optNum, series, str } from "./common.ts";

const SEVERITIES = ["critical", "major", "minor", "warning"];

export function threshold(c: Config): Step {
  const name = str(c, "series");
  const above = optNum(c, "raise_above");
  const below = optNum(c, "raise_below");
  if ((above === undefined) === (below === undefined))
    throw new Error("config needs one of raise_above or raise_below");
  const clearAt =
    above !== undefined ? (optNum(c, "clear_below") ?? above) : (optNum(c, "clear_above") ?? below);
  if (above !== undefined && (clearAt as number) > above)
    throw new Error("config.clear_below must be <= raise_above");
  if (below !== undefined && (clearAt as number) < below)
    throw new Error("config.clear_above must be >= raise_below");
  const type = str(c, "alarm_type", `${name.replace(/\./g, "_")}_threshold`);
  const severity = str(c, "severity", "major");
  if (!SEVERITIES.includes(severity))
    throw new Error(`config.severity must be one of ${SEVERITIES.join(", ")}`);
  const text = str(c, "text", `${name} out of range`);
  const passThrough = bool(c, "pass_through", true);
  const raised = new Set<string>();
  return {
    onMessage(m) {
      const out: OutMessage[] = passThrough ? [m] : [];
      const entity = entityOf(m.topic);
      const v = series(measurement(m)).find(([n]) => n === name)?.[1];
      if (v === undefined || !entity) return out;
      const topic = `${entity}/a/${type}`;
      const limit = above ?? (below as number);
      const bad = above !== undefined ? v > limit : v < limit;
      const good = above !== undefined ? v < (clearAt as number) : v > (clearAt as number);
      const mqtt = { qos: 1 as const, retain: true };
      if (bad && !raised.has(topic)) {
        raised.add(topic);
        out.push({
          topic,
          payload: JSON.stringify({ severity, text, value: v, time: m.time.toISOString() }),
          mqtt,
        });
      } else if (good && raised.has(topic)) {
        raised.delete(topic);
        out.push({ topic, payload: "", mqtt });
      }
      return out;
    },
  };
}
