/** The Node implementation of `SerialTransport`, on `serialport` and its native addon. */
import { SerialPort } from "serialport";
import { BaseTransport, type SerialSettings } from "./transport.ts";

class NodeTransport extends BaseTransport {
  readonly kind = "node" as const;

  constructor(
    settings: SerialSettings,
    private readonly port: SerialPort,
  ) {
    super(settings);
    port.on("data", (chunk: Buffer) => this.emit("data", chunk));
    port.on("error", (err: Error) => this.emit("error", err));
    // serialport emits `close` with a DisconnectedError when the device goes away
    port.on("close", (err?: Error | null) => this.markClosed(err ?? undefined));
  }

  write(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`serial port ${this.path} is closed`));
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) => {
        if (err) reject(err);
        else this.port.drain((e) => (e ? reject(e) : resolve()));
      });
    });
  }

  close(): Promise<void> {
    if (!this.port.isOpen) {
      this.markClosed();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.port.close(() => {
        this.markClosed();
        resolve();
      });
    });
  }
}

export function openNodeSerial(settings: SerialSettings): Promise<NodeTransport> {
  const port = new SerialPort({
    path: settings.path,
    baudRate: settings.baudRate,
    dataBits: settings.dataBits,
    stopBits: settings.stopBits,
    parity: settings.parity,
    autoOpen: false,
  });
  return new Promise((resolve, reject) => {
    port.open((err) => {
      if (err) reject(new Error(`cannot open serial port ${settings.path}: ${err.message}`));
      else resolve(new NodeTransport(settings, port));
    });
  });
}
