/**
 * The drivers' files the agent serves, for the composition root: `modbus.toml` and `serial.toml` as
 * config types (config_update validates a new file first and rejects it with file, line and
 * reason; the running driver then reloads it), and the Modbus flight recorder as log type
 * `modbus-recorder`.
 */
import type { Config } from "../config/store.ts";
import { parseModbusConfig } from "./modbus/config.ts";
import { recorderFile } from "./modbus/recorder-log.ts";
import { parseSerialConfig } from "./serial/config.ts";

export interface DriverFile {
  type: string;
  path: string;
}

export interface DriverFileHooks {
  config: (DriverFile & { check: (text: string, file: string) => string | undefined })[];
  log: DriverFile[];
}

/** Runs a parser; its DeviceFileError message (every problem, one per line) or undefined. */
function problems(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

export function driverFileHooks(config: Config): DriverFileHooks {
  return {
    config: [
      {
        type: "modbus.toml",
        path: config.path("modbus.config_file"),
        check: (text, file) => problems(() => parseModbusConfig(text, file)),
      },
      {
        type: "serial.toml",
        path: config.path("serial.config_file"),
        check: (text, file) => problems(() => parseSerialConfig(file, text)),
      },
    ],
    log: [{ type: "modbus-recorder", path: recorderFile({ config }) }],
  };
}
