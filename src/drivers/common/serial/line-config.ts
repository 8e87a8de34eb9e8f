/**
 * A serial line's settings as a device file writes them (`baud`, `data_bits`, `stop_bits`,
 * `parity`, and the port under the driver's own key), read the same way for serial sensors and
 * Modbus RTU. Defaults: 9600 8N1.
 */
import type { DeviceTable } from "../device-file.ts";
import { BAUD_RATES, type DataBits, type Parity, type SerialSettings, type StopBits } from "./transport.ts";

export const LINE_KEYS = ["baud", "data_bits", "stop_bits", "parity"] as const;

/** The settings, or undefined with every problem reported. */
export function readSerialLine(
  t: DeviceTable,
  portKey: string,
  dataBits: { min: DataBits; max: DataBits },
): SerialSettings | undefined {
  const path = t.str(portKey, { pattern: /^\S+$/, hint: "a device path such as /dev/ttyUSB0" });
  let baudRate = t.int("baud", { default: 9600 });
  if (baudRate !== undefined && !(BAUD_RATES as readonly number[]).includes(baudRate)) {
    t.report("baud", `unsupported baud rate ${baudRate} (one of ${BAUD_RATES.join(", ")})`);
    baudRate = undefined;
  }
  const bits = t.int("data_bits", { default: 8, ...dataBits }) as DataBits | undefined;
  const stopBits = t.int("stop_bits", { default: 1, min: 1, max: 2 }) as StopBits | undefined;
  const parity = t.oneOf<Parity>("parity", ["none", "even", "odd"], { default: "none" });
  if (!path || !baudRate || !bits || !stopBits || !parity) return undefined;
  return { path, baudRate, dataBits: bits, stopBits, parity };
}
