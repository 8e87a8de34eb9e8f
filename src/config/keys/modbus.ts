import { int, str } from "../define.ts";

export const modbusKeys = {
  "modbus.config_file": str(
    "Modbus device description (TOML), relative to the config dir: devices, transports and points.",
    "modbus.toml",
  ),
  "modbus.stats_interval_s": int(
    "Seconds between refreshed te/device/<name>///twin/modbus counters (0: only when errors change them).",
    300,
    0,
    86400,
  ),
} as const;
