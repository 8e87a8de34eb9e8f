/**
 * CRC-32 (IEEE 802.3: the one of zlib, PNG and Python's zlib.crc32), used by the batch frames and
 * the bridge queue records. Native where the runtime has it (Bun.hash.crc32; node:zlib's crc32 on
 * Node >= 20.15, loaded only there: under Bun node:zlib costs 6.5 MiB), else a table-driven loop. Pure.
 */
import { lazyBuiltin } from "./builtin.ts";

type Crc32 = (data: Uint8Array, initial?: number) => number;

let table: Uint32Array | undefined;

/** CRC-32 without the native helper (also the reference the tests compare against). */
export function crc32Portable(data: Uint8Array, initial = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~initial >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

const bun = (globalThis as { Bun?: { hash: { crc32: Crc32 } } }).Bun;
const native: Crc32 | undefined = bun?.hash.crc32 ?? lazyBuiltin<{ crc32?: Crc32 }>("node:zlib")().crc32;

/** CRC-32 of `data` as an unsigned integer, continuing from `initial` so data can be summed piece by piece. */
export const crc32: Crc32 =
  typeof native === "function" ? (data, initial) => native(data, initial) >>> 0 : crc32Portable;
