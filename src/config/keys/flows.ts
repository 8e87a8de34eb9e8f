import { parseDuration } from "../../foundation/duration.ts";
import { bool, int, str } from "../define.ts";

const duration = (v: string) => {
  try {
    parseDuration(v, "value");
    return undefined;
  } catch {
    return "must be a duration like 30s, 5m or 1h (or seconds)";
  }
};

export const flowsKeys = {
  "flows.step_timeout_ms": int(
    "Longest one call of a JavaScript flow step may run; a step that runs longer is stopped with its flow.",
    500,
    1,
    60_000,
  ),
  "flows.memory_limit_mb": int(
    "Largest the heap shared by all JavaScript flow steps may grow (MiB); the step that grows it further is stopped with its flow.",
    64,
    4,
    2048,
  ),
  "flows.reload_interval_ms": int(
    "How often the flows component looks for created, edited or deleted flow files (hot reload), in ms.",
    1000,
    50,
    3_600_000,
  ),
  "flows.stats.interval": str(
    "How often each mapper's flows publish their statistics on `te/device/main/service/tedge-mapper-<mapper>/status/metrics/<flow or step>` (thin-edge's default 1h; at least 1s).",
    "1h",
    { check: duration },
  ),
  "flows.stats.on_message": bool("Publish statistics per step `onMessage` too, not only per flow.", false),
  "flows.stats.on_interval": bool("Publish statistics per step `onInterval` too.", false),
  "flows.stats.on_startup": bool("Publish statistics per step `onStartup` too.", false),
} as const;
