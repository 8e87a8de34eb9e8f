/** The Node implementation of `SerialTransport`, on `serialport` and its native addon. */
import { read } from "node:fs";
import { promisify } from "node:util";
import { SerialPort } from "serialport";
import type { SerialSettings } from "./transport.ts";
import { BaseTransport } from "./transport-base.ts";

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

const readAsync = promisify(read);

/** The parts of @serialport/bindings-cpp's Linux/Darwin port binding that the read below uses. */
interface UnixPortBinding {
  fd: number | null;
  isOpen: boolean;
  poller: { once(event: "readable", cb: (err?: Error | null) => void): void };
  read(buffer: Buffer, offset: number, length: number): Promise<{ bytesRead: number; buffer: Buffer }>;
}

interface Binding {
  list(): Promise<unknown[]>;
  open(options: unknown): Promise<UnixPortBinding>;
}

/**
 * serialport's unix read retries forever when read() returns 0, which is what a tty whose other
 * side hung up returns (a pty whose master closed; some USB adapters when unplugged): it spins a
 * core and never reports the disconnect. This read treats end-of-file as a disconnect, so the stream
 * closes with a DisconnectedError like it does for EIO/ENXIO.
 */
function hangupAwareRead(port: UnixPortBinding): UnixPortBinding["read"] {
  const canceled = () => Object.assign(new Error("Port is not open"), { canceled: true });
  return async (buffer, offset, length) => {
    for (;;) {
      if (!port.isOpen || port.fd === null) throw canceled();
      try {
        const { bytesRead } = await readAsync(port.fd, buffer, offset, length, null);
        if (bytesRead > 0) return { bytesRead, buffer };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EAGAIN" && code !== "EWOULDBLOCK" && code !== "EINTR") throw e;
        if (!port.isOpen) throw canceled();
        await new Promise<void>((resolve, reject) =>
          port.poller.once("readable", (err) => (err ? reject(err) : resolve())),
        );
        continue;
      }
      throw Object.assign(new Error("device disconnected (end of file on read)"), { disconnect: true });
    }
  };
}

function hangupAwareBinding(): Binding {
  const base = SerialPort.binding as unknown as Binding;
  return {
    list: () => base.list(),
    async open(options) {
      const port = await base.open(options);
      if (process.platform !== "win32") port.read = hangupAwareRead(port);
      return port;
    },
  };
}

export function openNodeSerial(settings: SerialSettings): Promise<NodeTransport> {
  const options = {
    path: settings.path,
    baudRate: settings.baudRate,
    dataBits: settings.dataBits,
    stopBits: settings.stopBits,
    parity: settings.parity,
    autoOpen: false,
    binding: hangupAwareBinding(),
  };
  const port = new SerialPort(options as unknown as ConstructorParameters<typeof SerialPort>[0]);
  return new Promise((resolve, reject) => {
    port.open((err) => {
      if (err) reject(new Error(`cannot open serial port ${settings.path}: ${err.message}`));
      else resolve(new NodeTransport(settings, port));
    });
  });
}
