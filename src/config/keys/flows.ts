import { int } from "../define.ts";

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
} as const;
