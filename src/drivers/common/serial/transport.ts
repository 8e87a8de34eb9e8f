/**
 * The serial transport interface both drivers (serial sensors, Modbus RTU) see, and its settings.
 * Two implementations, picked at runtime by `open.ts`: `serialport` under Node (its native addon
 * panics under Bun: `uv_poll_init`), and a raw termios-configured tty fd through `bun:ffi` under Bun.
 */

export type Parity = "none" | "even" | "odd";
export type DataBits = 5 | 6 | 7 | 8;
export type StopBits = 1 | 2;

export interface SerialOptions {
  path: string;
  baudRate: number;
  dataBits?: DataBits;
  stopBits?: StopBits;
  parity?: Parity;
}

/** Normalised options, every field present. */
export interface SerialSettings {
  path: string;
  baudRate: number;
  dataBits: DataBits;
  stopBits: StopBits;
  parity: Parity;
}

export const BAUD_RATES = [
  50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400,
  460800, 500000, 576000, 921600, 1000000,
] as const;

/**
 * An open serial port. Events: `data` (Buffer), `error` (Error, the port may stay open), `close`
 * (emitted exactly once; with an Error when the port went away, e.g. the device was unplugged, and
 * without one after `close()`).
 */
export interface SerialTransport {
  readonly path: string;
  readonly settings: SerialSettings;
  readonly isOpen: boolean;
  /** Which implementation is in use: `node` (serialport) or `bun` (termios through bun:ffi). */
  readonly kind: "node" | "bun";
  /** Resolves when the bytes were handed to the OS; rejects when the port is closed or gone. */
  write(data: Uint8Array): Promise<void>;
  /** Subscribe to received bytes; returns the unsubscribe function. */
  onData(cb: (chunk: Buffer) => void): () => void;
  on(event: "data", cb: (chunk: Buffer) => void): this;
  on(event: "error", cb: (err: Error) => void): this;
  on(event: "close", cb: (err?: Error) => void): this;
  once(event: "close", cb: (err?: Error) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: mirrors EventEmitter.off
  off(event: "data" | "error" | "close", cb: (...args: any[]) => void): this;
  /** Idempotent. Stops reading; resolves when the fd is released. */
  close(): Promise<void>;
}

/** Validates options and fills defaults (8N1); throws a readable Error on bad values. */
export function serialSettings(opts: SerialOptions): SerialSettings {
  const s: SerialSettings = {
    path: opts.path,
    baudRate: opts.baudRate,
    dataBits: opts.dataBits ?? 8,
    stopBits: opts.stopBits ?? 1,
    parity: opts.parity ?? "none",
  };
  if (typeof s.path !== "string" || s.path === "") throw new Error("serial port path is empty");
  if (!(BAUD_RATES as readonly number[]).includes(s.baudRate))
    throw new Error(`unsupported baud rate ${s.baudRate} (one of ${BAUD_RATES.join(", ")})`);
  if (![5, 6, 7, 8].includes(s.dataBits))
    throw new Error(`data bits must be 5, 6, 7 or 8, not ${s.dataBits}`);
  if (![1, 2].includes(s.stopBits)) throw new Error(`stop bits must be 1 or 2, not ${s.stopBits}`);
  if (!["none", "even", "odd"].includes(s.parity))
    throw new Error(`parity must be none, even or odd, not ${String(s.parity)}`);
  return s;
}
