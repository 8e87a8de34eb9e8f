/**
 * The `serial` component: every `[[device]]` of `serial.toml` as a child device whose lines become
 * measurements. The file is validated as a whole before anything starts.
 */
import type { Component, Context } from "../../component/component.ts";
import { openSerial } from "../common/serial/open.ts";
import type { SerialOptions, SerialTransport } from "../common/serial/transport.ts";
import { readDeviceFile } from "../common/toml-file.ts";
import { parseSerialConfig, type SerialDeviceConfig } from "./config.ts";
import { SerialDevice } from "./device.ts";

/** Reads serial.toml; a missing file means no devices. Throws DeviceFileError (file:line: reason). */
export function loadSerialConfig(file: string): SerialDeviceConfig[] {
  const source = readDeviceFile(file);
  return source === undefined ? [] : parseSerialConfig(file, source);
}

export interface SerialComponent extends Component {
  readonly devices: readonly SerialDevice[];
}

export function createSerialComponent(
  ctx: Context,
  open: (o: SerialOptions) => Promise<SerialTransport> = openSerial,
): SerialComponent {
  const { config, log, bus, clock } = ctx;
  let devices: SerialDevice[] = [];
  return {
    name: "serial",
    get devices() {
      return devices;
    },
    async start() {
      const file = config.path("serial.config_file");
      const cfgs = loadSerialConfig(file);
      if (cfgs.length === 0) log.info("no serial devices configured", { file });
      const deps = {
        bus,
        root: config.get("mqtt.topic_root"),
        clock,
        log,
        open,
        reconnectMinMs: config.get("serial.reconnect_min_ms"),
        reconnectMaxMs: Math.max(
          config.get("serial.reconnect_max_ms"),
          config.get("serial.reconnect_min_ms"),
        ),
        statsIntervalS: config.get("serial.stats_interval_s"),
        badLineEventIntervalS: config.get("serial.bad_line_event_interval_s"),
      };
      devices = cfgs.map((c) => new SerialDevice(c, deps));
      // devices on different ports are independent: a missing one must not delay the others
      await Promise.all(devices.map((d) => d.start()));
      log.info("serial driver started", { devices: devices.length, file });
    },
    async stop() {
      await Promise.all(devices.map((d) => d.stop()));
      devices = [];
    },
  };
}
