/**
 * Linux `struct termios` as glibc lays it out on x86_64, aarch64 and armv7 (all use the generic
 * layout): four uint32 flag words, `c_line`, `c_cc[32]`, padding, then `c_ispeed`/`c_ospeed` — 60
 * bytes. Pure helpers here; the libc calls live in transport-bun.ts.
 */
import type { SerialSettings } from "./transport.ts";

export const TERMIOS_SIZE = 60;
export const OFF_IFLAG = 0;
export const OFF_CFLAG = 8;
export const OFF_CC = 17;
export const VTIME = 5;
export const VMIN = 6;
export const TCSANOW = 0;
export const TCIOFLUSH = 2;

// c_cflag bits (octal in <bits/termios-c_cflag.h>)
export const CSIZE = 0o60;
export const CS5 = 0o0;
export const CS6 = 0o20;
export const CS7 = 0o40;
export const CS8 = 0o60;
export const CSTOPB = 0o100;
export const CREAD = 0o200;
export const PARENB = 0o400;
export const PARODD = 0o1000;
export const HUPCL = 0o2000;
export const CLOCAL = 0o4000;
export const CRTSCTS = 0o20000000000;
// c_iflag bits
export const INPCK = 0o20;
export const IXON = 0o2000;
export const IXANY = 0o4000;
export const IXOFF = 0o10000;

/** Speed constants (`B9600` ...) for the rates `serialSettings` accepts. */
const SPEEDS: Record<number, number> = {
  50: 0o1,
  75: 0o2,
  110: 0o3,
  134: 0o4,
  150: 0o5,
  200: 0o6,
  300: 0o7,
  600: 0o10,
  1200: 0o11,
  1800: 0o12,
  2400: 0o13,
  4800: 0o14,
  9600: 0o15,
  19200: 0o16,
  38400: 0o17,
  57600: 0o10001,
  115200: 0o10002,
  230400: 0o10003,
  460800: 0o10004,
  500000: 0o10005,
  576000: 0o10006,
  921600: 0o10007,
  1000000: 0o10010,
};

export function speedConstant(baud: number): number {
  const c = SPEEDS[baud];
  if (c === undefined) throw new Error(`no termios speed constant for ${baud} baud`);
  return c;
}

const SIZE_BITS: Record<number, number> = { 5: CS5, 6: CS6, 7: CS7, 8: CS8 };

/** Character size, stop bits, parity and "local line, receiver on, no flow control" on top of `cflag`. */
export function frameCflag(cflag: number, s: SerialSettings): number {
  let c = cflag & ~(CSIZE | CSTOPB | PARENB | PARODD | CRTSCTS);
  c |= SIZE_BITS[s.dataBits] ?? CS8;
  if (s.stopBits === 2) c |= CSTOPB;
  if (s.parity !== "none") c |= PARENB;
  if (s.parity === "odd") c |= PARODD;
  c |= CLOCAL | CREAD;
  return c >>> 0;
}

/** Input flags for a raw binary line: no software flow control, parity checked when enabled. */
export function frameIflag(iflag: number, s: SerialSettings): number {
  let i = iflag & ~(IXON | IXOFF | IXANY | INPCK);
  if (s.parity !== "none") i |= INPCK;
  return i >>> 0;
}

/**
 * Applies the framing to a termios buffer that `cfmakeraw` already made raw (the speed is set with
 * cfsetispeed/cfsetospeed by the caller). Reads return as soon as one byte is there.
 */
export function applyFraming(t: Uint8Array, s: SerialSettings): void {
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  dv.setUint32(OFF_CFLAG, frameCflag(dv.getUint32(OFF_CFLAG, true), s), true);
  dv.setUint32(OFF_IFLAG, frameIflag(dv.getUint32(OFF_IFLAG, true), s), true);
  t[OFF_CC + VMIN] = 1;
  t[OFF_CC + VTIME] = 0;
}

export function readCflag(t: Uint8Array): number {
  return new DataView(t.buffer, t.byteOffset, t.byteLength).getUint32(OFF_CFLAG, true);
}
