/**
 * The `serial` component: every `[[device]]` of `serial.toml` as a child device whose frames become
 * measurements. The file is validated as a whole before anything starts, and reloaded when it
 * changes: a valid file restarts only the devices whose description changed; an invalid one is
 * rejected (file, line and reason) and the running devices go on.
 */
import type { Component, Context } from "../../component/component.ts";
import { type FileWatch, rejection, watchFile } from "../common/file-watch.ts";
import { openSerial } from "../common/serial/open.ts";
import type { SerialOptions, SerialTransport } from "../common/serial/transport.ts";
import { readDeviceFile } from "../common/toml-file.ts";
import { parseSerialConfig, type SerialDeviceConfig } from "./config.ts";
import { SerialDevice, type SerialDeviceDeps } from "./device.ts";

export const CONFIG_REJECTED_EVENT = "serial_config_rejected";

/** Reads serial.toml; a missing file means no devices. Throws DeviceFileError (file:line: reason). */
export function loadSerialConfig(file: string): SerialDeviceConfig[] {
  const source = readDeviceFile(file);
  return source === undefined ? [] : parseSerialConfig(file, source);
}

export interface SerialComponent extends Component {
  readonly devices: readonly SerialDevice[];
  /** Re-reads the file now; the problems when it was rejected. */
  reload(): Promise<string | undefined>;
}

export function createSerialComponent(
  ctx: Context,
  open: (o: SerialOptions) => Promise<SerialTransport> = openSerial,
): SerialComponent {
  const { config, log, bus, clock } = ctx;
  const file = config.path("serial.config_file");
  const root = config.get("mqtt.topic_root");
  let devices: SerialDevice[] = [];
  let watch: FileWatch | undefined;
  let stopped = false;
  const deps: SerialDeviceDeps = {
    bus,
    root,
    clock,
    log,
    open,
    reconnectMinMs: config.get("serial.reconnect_min_ms"),
    reconnectMaxMs: Math.max(config.get("serial.reconnect_max_ms"), config.get("serial.reconnect_min_ms")),
    statsIntervalS: config.get("serial.stats_interval_s"),
    badLineEventIntervalS: config.get("serial.bad_line_event_interval_s"),
  };
  // one reload at a time: a burst of edits must not start a device twice
  let reloading: Promise<string | undefined> = Promise.resolve(undefined);
  const reloadNow = async (): Promise<string | undefined> => {
    if (stopped) return undefined;
    let cfgs: SerialDeviceConfig[];
    try {
      cfgs = loadSerialConfig(file);
    } catch (e) {
      const text = (e as Error).message;
      const { topic, payload, qos } = rejection(file, text, CONFIG_REJECTED_EVENT, root, clock(), log);
      await bus.publish(topic, payload, { qos }).catch(() => {});
      return text;
    }
    const next = new Map(cfgs.map((c) => [c.name, c]));
    const keep = devices.filter((d) => JSON.stringify(next.get(d.cfg.name)) === JSON.stringify(d.cfg));
    const gone = devices.filter((d) => !keep.includes(d));
    // stopped first: a changed device may move to a port another one just left
    await Promise.all(gone.map((d) => d.stop()));
    for (const d of gone)
      if (!next.has(d.cfg.name))
        await bus.publish(`${root}/device/${d.cfg.name}//`, "", { retain: true, qos: 1 }).catch(() => {});
    const kept = new Set(keep.map((d) => d.cfg.name));
    const started = cfgs.filter((c) => !kept.has(c.name)).map((c) => new SerialDevice(c, deps));
    devices = [...keep, ...started];
    await Promise.all(started.map((d) => d.start()));
    log.info(`${file} reloaded: ${started.length} started, ${gone.length} stopped, ${keep.length} untouched`);
    return undefined;
  };
  return {
    name: "serial",
    get devices() {
      return devices;
    },
    reload() {
      reloading = reloading.then(reloadNow);
      return reloading;
    },
    async start() {
      const cfgs = loadSerialConfig(file);
      if (cfgs.length === 0) log.info("no serial devices configured", { file });
      devices = cfgs.map((c) => new SerialDevice(c, deps));
      // devices on different ports are independent: a missing one must not delay the others
      await Promise.all(devices.map((d) => d.start()));
      watch = watchFile(file, () => void this.reload(), log);
      log.info("serial driver started", { devices: devices.length, file });
    },
    async stop() {
      stopped = true;
      watch?.close();
      await reloading;
      await Promise.all(devices.map((d) => d.stop()));
      devices = [];
    },
  };
}
