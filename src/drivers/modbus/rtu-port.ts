/**
 * A port object `modbus-serial` accepts (`new ModbusRTU(port)`), driving Modbus RTU over our
 * `SerialTransport`, so RTU works on Node and Bun alike.
 *
 * modbus-serial's receive handler wants one whole response per `data` event, but a serial line
 * delivers bytes in arbitrary chunks. So this port reassembles frames: from the request it knows the
 * unit id, function code and expected response length; it emits the first complete frame with a good
 * CRC (skipping garbage before it). A complete frame with a bad CRC is emitted after a short silence
 * on the line, so modbus-serial reports a CRC error instead of a timeout. Responses of unknown length
 * (FC 17, 43, ...) are emitted after the silence.
 *
 * Usage:
 *   const port = new ModbusSerialPort({ path, baudRate: 9600, parity: "even" });
 *   const client = new ModbusRTU(port);      // import ModbusRTU from "modbus-serial"
 *   client.on("error", ...);                 // modbus-serial re-emits port errors: always listen
 *   await new Promise<void>((res, rej) => client.open((e) => (e ? rej(e) : res())));
 *   client.setID(1); client.setTimeout(500); await client.readHoldingRegisters(0, 10);
 * `close` (with an Error) is emitted when the device disappears; `open` again to reconnect.
 */
import { EventEmitter } from "node:events";
import { crc16 } from "../common/crc16.ts";
import { openSerial } from "../common/serial/open.ts";
import type { SerialOptions, SerialTransport } from "../common/serial/transport.ts";

const EXCEPTION_LENGTH = 5;
const MAX_BUFFER = 512;

function crcOk(buf: Uint8Array, start: number, len: number): boolean {
  if (len < 4) return false;
  const c = crc16(buf, start, start + len - 2);
  return (buf[start + len - 2] ?? -1) === (c & 0xff) && (buf[start + len - 1] ?? -1) === c >>> 8;
}

/** Expected length of the normal response to a request frame, or undefined when it is not fixed. */
export function expectedResponseLength(req: Uint8Array): number | undefined {
  const fc = req[1];
  const qty = req.length >= 6 ? ((req[4] ?? 0) << 8) | (req[5] ?? 0) : 0;
  switch (fc) {
    case 1:
    case 2:
      return 3 + Math.ceil(qty / 8) + 2;
    case 3:
    case 4:
      return 3 + 2 * qty + 2;
    case 5:
    case 6:
    case 15:
    case 16:
      return 8;
    default:
      return undefined;
  }
}

export interface FrameMatch {
  start: number;
  length: number;
  crcOk: boolean;
}

/**
 * Finds the response to (unit, fc) in `buf`: the first complete candidate with a good CRC, else the
 * first complete candidate with a bad one. Pure, for tests.
 */
export function findResponse(
  buf: Uint8Array,
  unit: number,
  fc: number,
  expected: number | undefined,
): FrameMatch | undefined {
  let bad: FrameMatch | undefined;
  for (let i = 0; i + EXCEPTION_LENGTH <= buf.length; i++) {
    if (buf[i] !== unit) continue;
    const f = buf[i + 1];
    let len: number | undefined;
    if (f === (fc | 0x80)) len = EXCEPTION_LENGTH;
    else if (f === fc) len = expected;
    if (len === undefined || i + len > buf.length) continue;
    if (crcOk(buf, i, len)) return { start: i, length: len, crcOk: true };
    bad ??= { start: i, length: len, crcOk: false };
  }
  return bad;
}

export class ModbusSerialPort extends EventEmitter {
  private transport: SerialTransport | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private unit = -1;
  private fc = -1;
  private expected: number | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  /** Line silence after which an incomplete or bad frame is handed over (≥ 3.5 characters). */
  private readonly silenceMs: number;

  constructor(
    private readonly options: SerialOptions,
    private readonly open_: (o: SerialOptions) => Promise<SerialTransport> = openSerial,
  ) {
    super();
    // 11 bits per character; ptys and USB adapters deliver in bursts, so never below 20 ms
    this.silenceMs = Math.max(20, Math.ceil(((3.5 * 11) / options.baudRate) * 1000));
  }

  get isOpen(): boolean {
    return this.transport?.isOpen === true;
  }

  open(callback?: (err?: Error | null) => void): void {
    if (this.isOpen) {
      callback?.(null);
      return;
    }
    this.open_(this.options).then(
      (t) => {
        this.transport = t;
        this.buffer = Buffer.alloc(0);
        t.onData((chunk) => this.onChunk(chunk));
        t.on("error", (err) => this.emit("error", err));
        t.once("close", (err) => {
          this.clearSilence();
          if (this.transport === t) this.transport = undefined;
          this.emit("close", err);
        });
        callback?.(null);
      },
      (err: Error) => callback?.(err),
    );
  }

  close(callback?: (err?: Error | null) => void): void {
    this.clearSilence();
    const t = this.transport;
    this.transport = undefined;
    if (!t) {
      callback?.(null);
      return;
    }
    t.close().then(
      () => callback?.(null),
      (err: Error) => callback?.(err),
    );
  }

  destroy(): void {
    this.close();
  }

  write(data: Buffer): void {
    const t = this.transport;
    if (!t || data.length < 2) return;
    this.unit = data[0] ?? -1;
    this.fc = data[1] ?? -1;
    this.expected = expectedResponseLength(data);
    // a new request: whatever is left of an earlier answer is stale
    this.buffer = Buffer.alloc(0);
    this.clearSilence();
    t.write(data).catch((err: Error) => this.emit("error", err));
  }

  private onChunk(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_BUFFER) this.buffer = this.buffer.subarray(this.buffer.length - MAX_BUFFER);
    const m = findResponse(this.buffer, this.unit, this.fc, this.expected);
    if (m?.crcOk) {
      this.emitFrame(m.start, m.length);
      return;
    }
    this.clearSilence();
    this.silenceTimer = setTimeout(() => this.onSilence(), this.silenceMs);
  }

  private onSilence(): void {
    this.silenceTimer = undefined;
    const m = findResponse(this.buffer, this.unit, this.fc, this.expected);
    if (m) {
      this.emitFrame(m.start, m.length);
      return;
    }
    if (this.expected === undefined) {
      const start = this.buffer.indexOf(this.unit);
      if (start >= 0 && this.buffer[start + 1] === this.fc) this.emitFrame(start, this.buffer.length - start);
    }
  }

  private emitFrame(start: number, length: number): void {
    this.clearSilence();
    const frame = Buffer.from(this.buffer.subarray(start, start + length));
    this.buffer = Buffer.alloc(0);
    this.emit("data", frame);
  }

  private clearSilence(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
  }
}
