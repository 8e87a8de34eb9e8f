/**
 * `downsample`: at most one message per topic every `interval` (default 10 s). `mode = "first"`
 * (default) passes the first message of each period at once and drops the rest; `mode = "last"`
 * holds the latest and emits it when its period is over (on `onInterval` or the next message).
 */
import type { OutMessage, Step } from "../types.ts";
import { type Config, ms, str } from "./common.ts";

export function downsample(c: Config): Step {
  const period = ms(c, "interval", "10s");
  const mode = str(c, "mode", "first");
  if (mode !== "first" && mode !== "last") throw new Error("config.mode must be first or last");
  const sent = new Map<string, number>();
  const held = new Map<string, { m: OutMessage; until: number }>();
  const flush = (now: number) => {
    const out: OutMessage[] = [];
    for (const [topic, h] of held)
      if (now >= h.until) {
        out.push(h.m);
        held.delete(topic);
      }
    return out;
  };
  if (mode === "last")
    return {
      onMessage(m) {
        const now = m.time.getTime();
        const out = flush(now);
        const until = held.get(m.topic)?.until ?? Math.floor(now / period) * period + period;
        held.set(m.topic, { m, until });
        return out;
      },
      onInterval: (time) => flush(time.getTime()),
    };
  return {
    onMessage(m) {
      const now = m.time.getTime();
      const prev = sent.get(m.topic);
      if (prev !== undefined && now - prev < period) return [];
      sent.set(m.topic, now);
      return m;
    },
  };
}
