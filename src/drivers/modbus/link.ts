/**
 * One connection to a Modbus endpoint (a serial line or a TCP host:port) through `modbus-serial`:
 * opened lazily, reopened after it drops, every call bounded by a timeout. Callers serialise use
 * through the endpoint's `PortQueue`; this file does no queueing of its own.
 */
import modbusSerial from "modbus-serial";
import type { ModbusRTU as Client } from "modbus-serial/ModbusRTU.js";
import type { Table } from "./codec.ts";
import type { Transport } from "./config.ts";
import type { FlightRecorder } from "./recorder.ts";

// a CommonJS package whose typings declare an ES default export: take the class as it is at run time
const ModbusRTU = modbusSerial as unknown as new (port?: unknown) => Client;
type ModbusRTU = Client;

export type ErrorKind = "timeout" | "exception" | "crc" | "connection" | "other";

export class ModbusError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
    /** The Modbus exception code (1 illegal function, 2 illegal data address, ...). */
    readonly code?: number,
  ) {
    super(message);
    this.name = "ModbusError";
  }
}

/** Classifies what modbus-serial (or the socket below it) threw. */
export function classify(err: unknown): ModbusError {
  if (err instanceof ModbusError) return err;
  const e = err as { message?: string; modbusCode?: number; errno?: string; code?: string };
  const msg = e?.message ?? String(err);
  if (typeof e?.modbusCode === "number") return new ModbusError(msg, "exception", e.modbusCode);
  if (e?.errno === "ETIMEDOUT" || /timed out/i.test(msg)) return new ModbusError(msg, "timeout");
  if (/CRC/.test(msg)) return new ModbusError(msg, "crc");
  if (
    e?.errno === "ECONNREFUSED" ||
    /ECONN|EPIPE|ENOENT|EACCES|EHOSTUNREACH|ENETUNREACH|not open|closed/i.test(`${e?.code ?? ""} ${msg}`)
  )
    return new ModbusError(msg, "connection");
  return new ModbusError(msg, "other");
}

/** Opens the underlying port; the serial one comes from the serial transport (Node and Bun). */
export type PortFactory = (t: Extract<Transport, { kind: "rtu" }>) => Promise<unknown>;

/** The RTU port over ledge's serial transport (Node and Bun). */
export const openRtuPort: PortFactory = async (t) => {
  const { ModbusSerialPort } = await import("./rtu-port.ts");
  return new ModbusSerialPort({
    path: t.path,
    baudRate: t.baudRate,
    parity: t.parity,
    dataBits: t.dataBits,
    stopBits: t.stopBits,
  });
};

export interface LinkOptions {
  /** Override how the serial port object is made (tests, or modbus-serial's own serialport path). */
  serialPort?: PortFactory;
  /** Records every frame and request outcome of this endpoint. */
  recorder?: FlightRecorder;
}

/** The port object modbus-serial writes request frames to and reads response frames from. */
interface FramePort {
  write(data: Buffer): unknown;
  on(event: "data", cb: (data: Buffer) => void): unknown;
}

/**
 * Feeds the recorder from modbus-serial's port: both its own TCP port and our RTU port take
 * request frames through `write` and hand response frames over as `data`, in RTU form.
 */
function tap(client: ModbusRTU, rec: FlightRecorder): void {
  const port = (client as unknown as { _port?: FramePort })._port;
  if (!port) return;
  const write = port.write.bind(port);
  port.write = (data: Buffer) => {
    rec.frame("tx", data);
    return write(data);
  };
  port.on("data", (data) => rec.frame("rx", data));
}

export class ModbusLink {
  private client: ModbusRTU | undefined;
  private opening: Promise<ModbusRTU> | undefined;
  private closed = false;

  constructor(
    readonly transport: Transport,
    private readonly opts: LinkOptions = {},
  ) {}

  get isOpen(): boolean {
    return this.client?.isOpen === true;
  }

  private async open(timeoutMs: number): Promise<ModbusRTU> {
    if (this.closed) throw new ModbusError("link closed", "connection");
    if (this.client?.isOpen) return this.client;
    this.opening ??= this.connect(timeoutMs).finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async connect(timeoutMs: number): Promise<ModbusRTU> {
    this.drop();
    const t = this.transport;
    let client: ModbusRTU;
    if (t.kind === "tcp") {
      client = listening(new ModbusRTU());
      // an unreachable host would otherwise hang in connect for the OS's minutes
      await withTimeout(client.connectTCP(t.host, { port: t.port }), timeoutMs, "connect", () =>
        client.destroy(() => {}),
      );
    } else {
      const port = await (this.opts.serialPort ?? openRtuPort)(t);
      client = listening(new ModbusRTU(port));
      await withTimeout(
        new Promise<void>((res, rej) => client.open((e: Error | null) => (e ? rej(e) : res()))),
        timeoutMs,
        "open",
        () => client.close(() => {}),
      );
    }
    if (this.opts.recorder) tap(client, this.opts.recorder);
    this.client = client;
    return client;
  }

  /** Forgets the connection (after a TCP timeout the stream may be out of step: start afresh). */
  drop(): void {
    const c = this.client;
    this.client = undefined;
    if (c) {
      try {
        if (this.transport.kind === "tcp") c.destroy(() => {});
        else c.close(() => {});
      } catch {
        // already gone
      }
    }
  }

  /** Reads `count` registers (or bits, as 0/1) from one table of one unit. */
  async read(unit: number, table: Table, start: number, count: number, timeoutMs: number): Promise<number[]> {
    const c = await this.call(unit, timeoutMs);
    return this.timed(unit, async () => {
      switch (table) {
        case "coil":
          return (await c.readCoils(start, count)).data.slice(0, count).map(Number);
        case "discrete_input":
          return (await c.readDiscreteInputs(start, count)).data.slice(0, count).map(Number);
        case "holding":
          return (await c.readHoldingRegisters(start, count)).data;
        case "input":
          return (await c.readInputRegisters(start, count)).data;
      }
    });
  }

  /**
   * Function 43/14, read device identification (basic objects: vendor, product code, revision),
   * as object id → text. Devices without it answer exception 1 (illegal function).
   */
  async identify(unit: number, timeoutMs: number): Promise<Record<number, string>> {
    const c = await this.call(unit, timeoutMs);
    const r = await this.timed(unit, () => c.readDeviceIdentification(1, 0));
    // modbus-serial gives an object keyed by object id (typed as an array)
    const out: Record<number, string> = {};
    for (const [id, v] of Object.entries(r.data as unknown as Record<string, unknown>))
      if (typeof v === "string" && v !== "") out[Number(id)] = v;
    return out;
  }

  /** Runs one request: its outcome and response time go to the recorder, errors are classified. */
  private async timed<T>(unit: number, request: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const r = await request();
      this.opts.recorder?.outcome(unit, performance.now() - t0);
      return r;
    } catch (e) {
      const err = this.failed(e);
      this.opts.recorder?.outcome(unit, performance.now() - t0, err.kind, err.code);
      throw err;
    }
  }

  /** Writes coils (FC5/FC15) or holding registers (FC6/FC16). */
  async write(
    unit: number,
    table: Table,
    address: number,
    values: number[],
    timeoutMs: number,
  ): Promise<void> {
    if (table !== "coil" && table !== "holding")
      throw new ModbusError(`table '${table}' is read-only`, "other");
    const c = await this.call(unit, timeoutMs);
    await this.timed(unit, async () => {
      if (table === "coil") {
        if (values.length === 1) await c.writeCoil(address, values[0] !== 0);
        else await c.writeCoils(address, values.map(Boolean));
      } else if (values.length === 1) await c.writeRegister(address, values[0]!);
      else await c.writeRegisters(address, values);
    });
  }

  private async call(unit: number, timeoutMs: number): Promise<ModbusRTU> {
    let c: ModbusRTU;
    try {
      c = await this.open(timeoutMs);
    } catch (e) {
      const err = classify(e);
      throw new ModbusError(`cannot open ${describe(this.transport)}: ${err.message}`, "connection");
    }
    c.setID(unit);
    c.setTimeout(timeoutMs);
    return c;
  }

  private failed(e: unknown): ModbusError {
    const err = classify(e);
    if (err.kind === "connection" || (err.kind === "timeout" && this.transport.kind === "tcp")) this.drop();
    return err;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => {});
    this.drop();
  }
}

/**
 * modbus-serial re-emits port errors; unhandled they would crash the process. Listening from the
 * start also covers errors of a connection given up on (connect timed out, then the socket failed).
 */
function listening(client: ModbusRTU): ModbusRTU {
  client.on("error", () => {});
  return client;
}

export function describe(t: Transport): string {
  return t.kind === "tcp" ? `${t.host}:${t.port}` : t.path;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => {
      onTimeout();
      rej(new ModbusError(`${what} timed out after ${ms} ms`, "connection"));
    }, ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
