/** Every built-in step by the name a flow file gives in `builtin = "<name>"`. */
import type { Step } from "../types.ts";
import { aggregate } from "./aggregate.ts";
import { intoC8yAlarms, intoC8yEvents, intoC8yMeasurements } from "./c8y.ts";
import type { Config } from "./common.ts";
import { deadband } from "./deadband.ts";
import { downsample } from "./downsample.ts";
import { rateLimit } from "./rate-limit.ts";
import { rename, route } from "./rename.ts";
import { rule } from "./rule.ts";
import { scale } from "./scale.ts";
import {
  addTimestamp,
  cacheEarlyMessages,
  groupMeasurements,
  ignoreTopics,
  limitPayloadSize,
  setAwsTopic,
  setTopic,
  skipMosquittoHealth,
  updateContext,
} from "./tedge.ts";
import { threshold } from "./threshold.ts";

export const BUILTINS: Record<string, (config: Config) => Step> = {
  // thin-edge's
  "add-timestamp": addTimestamp,
  "cache-early-messages": cacheEarlyMessages,
  "group-measurements": groupMeasurements,
  "ignore-topics": ignoreTopics,
  "into-c8y-alarms": intoC8yAlarms,
  "into-c8y-events": intoC8yEvents,
  "into-c8y-measurements": intoC8yMeasurements,
  "limit-payload-size": limitPayloadSize,
  "set-aws-topic": setAwsTopic,
  "set-topic": setTopic,
  "skip-mosquitto-health-status": skipMosquittoHealth,
  "update-context": updateContext,
  // ledge's
  aggregate,
  deadband,
  downsample,
  "rate-limit": rateLimit,
  rename,
  route,
  rule,
  scale,
  threshold,
};

export function builtinStep(name: string, config: Config): Step {
  const make = BUILTINS[name];
  if (!make)
    throw new Error(`unknown builtin step '${name}' (known: ${Object.keys(BUILTINS).sort().join(", ")})`);
  try {
    return make(config);
  } catch (e) {
    throw new Error(`builtin ${name}: ${(e as Error).message}`);
  }
}
