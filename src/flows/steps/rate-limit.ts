/**
 * `rate-limit`: a token bucket, `max` messages per `per` (default 1 s) with bursts up to `burst`
 * (default `max`), per topic (`by = "topic"`, default) or for the whole flow (`by = "flow"`).
 * Messages over the limit are dropped; the number dropped is kept in `context.script` under
 * `dropped` so a later step or `ledge flows test` can see it.
 */
import type { Step } from "../types.ts";
import { type Config, ms, num, str } from "./common.ts";

export function rateLimit(c: Config): Step {
  const max = num(c, "max");
  const per = ms(c, "per", "1s");
  const burst = num(c, "burst", max);
  const by = str(c, "by", "topic");
  if (max <= 0 || per <= 0 || burst < 1) throw new Error("config.max and per must be > 0 and burst >= 1");
  if (by !== "topic" && by !== "flow") throw new Error("config.by must be topic or flow");
  const buckets = new Map<string, { tokens: number; at: number }>();
  let dropped = 0;
  return {
    onMessage(m, ctx) {
      const key = by === "topic" ? m.topic : "";
      const now = m.time.getTime();
      const b = buckets.get(key) ?? { tokens: burst, at: now };
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * max) / per);
      b.at = now;
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return m;
      }
      ctx.script.set("dropped", ++dropped);
      return [];
    },
  };
}
