/** The runtime selector: the serial implementation that works on the running runtime. */
import { type SerialOptions, type SerialTransport, serialSettings } from "./transport.ts";

export function isBun(): boolean {
  return typeof process.versions.bun === "string";
}

/** Opens a serial port with the implementation that works on the current runtime. */
export async function openSerial(opts: SerialOptions): Promise<SerialTransport> {
  const settings = serialSettings(opts);
  if (isBun()) {
    const { openBunSerial } = await import("./transport-bun.ts");
    return openBunSerial(settings);
  }
  const { openNodeSerial } = await import("./transport-node.ts");
  return openNodeSerial(settings);
}
