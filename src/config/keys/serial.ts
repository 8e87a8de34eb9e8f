import { int, str } from "../define.ts";

export const serialKeys = {
  "serial.config_file": str(
    "Serial sensor descriptions (TOML, [[device]] tables); relative paths are in the config dir.",
    "serial.toml",
  ),
  "serial.reconnect_min_ms": int(
    "First wait before reopening a serial port that went away.",
    500,
    10,
    600_000,
  ),
  "serial.reconnect_max_ms": int(
    "Longest wait between attempts to reopen a serial port.",
    30_000,
    10,
    3_600_000,
  ),
  "serial.stats_interval_s": int(
    "Seconds between `serial_stats` measurements (lines, bad lines, reconnects) per device; 0: off.",
    60,
    0,
    86_400,
  ),
  "serial.bad_line_event_interval_s": int(
    "At most one `serial_bad_line` event per device in this many seconds (the rest are counted).",
    10,
    0,
    86_400,
  ),
} as const;
