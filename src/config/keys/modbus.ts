import { int, str } from "../define.ts";

export const modbusKeys = {
  "modbus.config_file": str(
    "Modbus device description (TOML), relative to the config dir: devices, transports and points. Reloaded when it changes.",
    "modbus.toml",
  ),
  "modbus.stats_interval_s": int(
    "Seconds between refreshed te/device/<name>///twin/modbus counters (between them the twin changes only when its state does: up/down, last error, points in error).",
    300,
    0,
    86400,
  ),
  "modbus.point_error_event_interval_s": int(
    "A point answering with a Modbus exception gets a `modbus_point_error` event at once, then at most one per this many seconds while it persists.",
    600,
    1,
    86400,
  ),
  "modbus.recorder.frames": int(
    "Flight recorder: raw frames kept per port (serial line or TCP endpoint); 0 turns recording off.",
    64,
    0,
    4096,
  ),
  "modbus.recorder.file": str(
    "Flight recorder log (log type `modbus-recorder` for log_upload), relative to the data dir; written at each communication alarm and every modbus.recorder.flush_s.",
    "modbus/recorder.log",
  ),
  "modbus.recorder.flush_s": int(
    "Seconds between writes of the flight recorder log when frames changed (0: only at communication alarms and stop).",
    300,
    0,
    86400,
  ),
} as const;
