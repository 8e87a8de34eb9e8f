/**
 * The Bun implementation of `SerialTransport`: the tty is opened with `fs` (non-blocking) and made
 * raw with libc's termios calls through `bun:ffi` (no `stty` child process). Reading goes through
 * `Bun.file(fd).stream()`, which waits on the fd in Bun's event loop (no polling timer, and a
 * cancel stops it at once; a blocking fd would pin a threadpool thread that `close` cannot wake).
 * When the device disappears the stream ends (EIO), which is reported as a `close` with an error.
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { applyFraming, speedConstant, TCSANOW, TERMIOS_SIZE } from "./termios.ts";
import type { SerialSettings } from "./transport.ts";
import { BaseTransport } from "./transport-base.ts";

interface Termios {
  tcgetattr(fd: number, t: Uint8Array): number;
  tcsetattr(fd: number, when: number, t: Uint8Array): number;
  cfmakeraw(t: Uint8Array): void;
  cfsetispeed(t: Uint8Array, speed: number): number;
  cfsetospeed(t: Uint8Array, speed: number): number;
  flock(fd: number, op: number): number;
}

// <sys/file.h>: exclusive, non-blocking; the same advisory lock serialport takes, so two ledge
// components (or a Node and a Bun process) never share one line
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

let libcPromise: Promise<Termios> | undefined;

/** libc's termios functions, bound once per process (dlopen is not free). */
function termios(): Promise<Termios> {
  libcPromise ??= (async () => {
    const ffi = await import("bun:ffi");
    const { FFIType, dlopen, ptr } = ffi;
    const defs = {
      tcgetattr: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      tcsetattr: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      cfmakeraw: { args: [FFIType.ptr], returns: FFIType.void },
      cfsetispeed: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      cfsetospeed: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    } as const;
    let lastError: unknown;
    for (const name of ["libc.so.6", "libc.so"]) {
      try {
        const { symbols: s } = dlopen(name, defs);
        return {
          tcgetattr: (fd, t) => s.tcgetattr(fd, ptr(t)),
          tcsetattr: (fd, when, t) => s.tcsetattr(fd, when, ptr(t)),
          cfmakeraw: (t) => s.cfmakeraw(ptr(t)),
          cfsetispeed: (t, sp) => s.cfsetispeed(ptr(t), sp),
          cfsetospeed: (t, sp) => s.cfsetospeed(ptr(t), sp),
          flock: (fd, op) => s.flock(fd, op),
        } satisfies Termios;
      } catch (e) {
        lastError = e;
      }
    }
    throw new Error(`cannot load libc for termios: ${(lastError as Error).message}`);
  })();
  return libcPromise;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class BunTransport extends BaseTransport {
  readonly kind = "bun" as const;
  private readonly reader: {
    read(): Promise<{ value?: Uint8Array; done: boolean }>;
    cancel(): Promise<void>;
  };
  private writing: Promise<void> = Promise.resolve();
  private cancelled = false;

  constructor(
    settings: SerialSettings,
    private readonly fd: number,
    private readonly libc: Termios,
  ) {
    super(settings);
    this.reader = Bun.file(fd).stream().getReader();
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    let err: Error | undefined;
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        if (value && value.byteLength > 0)
          this.emit("data", Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
    } catch (e) {
      err = e as Error;
    }
    if (this.cancelled) return;
    // the stream ended without close(): the tty went away (EIO on read), e.g. unplugged
    this.release();
    this.markClosed(err ?? new Error("device disconnected (end of file on read)"));
  }

  write(data: Uint8Array): Promise<void> {
    const next = this.writing.then(() => this.writeAll(data));
    this.writing = next.catch(() => {});
    return next;
  }

  private async writeAll(data: Uint8Array): Promise<void> {
    let off = 0;
    let waited = 0;
    while (off < data.byteLength) {
      if (this.closed || this.cancelled) throw new Error(`serial port ${this.path} is closed`);
      try {
        off += writeSync(this.fd, data, off, data.byteLength - off);
        waited = 0;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EAGAIN") throw e;
        // output buffer full at a low baud rate: wait for it to drain, but not forever
        waited += 2;
        if (waited > 5000) throw new Error(`serial port ${this.path}: write stalled for 5 s`);
        await sleep(2);
      }
    }
  }

  private release(): void {
    // unlock explicitly: Bun's stream may still hold the fd for a moment after cancel, and the lock
    // belongs to the open file, so a quick reopen would otherwise find the port locked
    this.libc.flock(this.fd, LOCK_UN);
    try {
      closeSync(this.fd);
    } catch {}
  }

  async close(): Promise<void> {
    if (this.closed || this.cancelled) return;
    this.cancelled = true;
    await this.reader.cancel().catch(() => {});
    this.release();
    this.markClosed();
  }
}

export async function openBunSerial(settings: SerialSettings): Promise<BunTransport> {
  const libc = await termios();
  let fd: number;
  try {
    fd = openSync(settings.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (e) {
    throw new Error(`cannot open serial port ${settings.path}: ${(e as Error).message}`);
  }
  try {
    if (libc.flock(fd, LOCK_EX | LOCK_NB) !== 0)
      throw new Error("Cannot lock port (in use by another process?)");
    const t = new Uint8Array(TERMIOS_SIZE);
    if (libc.tcgetattr(fd, t) !== 0) throw new Error("not a terminal (tcgetattr failed)");
    libc.cfmakeraw(t);
    applyFraming(t, settings);
    const speed = speedConstant(settings.baudRate);
    if (libc.cfsetispeed(t, speed) !== 0 || libc.cfsetospeed(t, speed) !== 0)
      throw new Error(`cannot set ${settings.baudRate} baud`);
    if (libc.tcsetattr(fd, TCSANOW, t) !== 0) throw new Error("tcsetattr failed");
  } catch (e) {
    closeSync(fd);
    throw new Error(`cannot configure serial port ${settings.path}: ${(e as Error).message}`);
  }
  return new BunTransport(settings, fd, libc);
}
