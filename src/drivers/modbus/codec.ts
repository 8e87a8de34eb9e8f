/**
 * Register codecs: Modbus registers (16-bit words) ↔ engineering values. Pure.
 *
 * Byte order swaps the two bytes inside each register; word order swaps the registers of a
 * multi-register value. Big/big is the Modbus convention ("ABCD"); little word order is the common
 * "CDAB" of many PLCs; little/little is "DCBA"; little byte order with big words is "BADC".
 * 64-bit integers are exact up to 2^53 (JSON numbers); beyond they round to the nearest double.
 * Strings are `length` registers of two characters each (NULs and trailing spaces trimmed); a bit
 * field takes `bits.count` bits from bit `bits.start` (0 = least significant) of an integer.
 */
export type Table = "coil" | "discrete_input" | "holding" | "input";
export type ValueType =
  | "bool"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "float32"
  | "float64"
  | "string";
export type Order = "big" | "little";

export const TABLES: readonly Table[] = ["coil", "discrete_input", "holding", "input"];
export const VALUE_TYPES: readonly ValueType[] = [
  "bool",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "float32",
  "float64",
  "string",
];

export interface Encoding {
  type: ValueType;
  byteOrder: Order;
  wordOrder: Order;
  /** value = raw * scale + offset */
  scale: number;
  offset: number;
  /** Registers of a string (its width); unset for the other types. */
  length?: number;
  /** A bit field inside an integer value: `count` bits from bit `start` (0 = least significant). */
  bits?: { start: number; count: number };
}

/** A decoded point: a number, or the text of a string point. */
export type PointValue = number | string;

export const isBitTable = (t: Table): boolean => t === "coil" || t === "discrete_input";
export const isWritableTable = (t: Table): boolean => t === "coil" || t === "holding";

/** How many registers (or bits, for coil tables) a value occupies; `length` for strings. */
export function widthOf(type: ValueType, length = 1): number {
  switch (type) {
    case "string":
      return length;
    case "bool":
    case "int16":
    case "uint16":
      return 1;
    case "int32":
    case "uint32":
    case "float32":
      return 2;
    case "int64":
    case "uint64":
    case "float64":
      return 4;
  }
}

/** Integer types a bit field can be taken from. */
export const isIntegerType = (t: ValueType): boolean => /int/.test(t);

/** Big-endian bytes of the value from registers as they came off the wire, orders undone. */
function toCanonical(regs: readonly number[], enc: Pick<Encoding, "byteOrder" | "wordOrder">): Buffer {
  const words = enc.wordOrder === "little" ? [...regs].reverse() : regs;
  const buf = Buffer.allocUnsafe(words.length * 2);
  words.forEach((w, i) => {
    if (enc.byteOrder === "little") buf.writeUInt16LE(w & 0xffff, i * 2);
    else buf.writeUInt16BE(w & 0xffff, i * 2);
  });
  return buf;
}

function fromCanonical(buf: Buffer, enc: Pick<Encoding, "byteOrder" | "wordOrder">): number[] {
  const words: number[] = [];
  for (let i = 0; i < buf.length; i += 2)
    words.push(enc.byteOrder === "little" ? buf.readUInt16LE(i) : buf.readUInt16BE(i));
  return enc.wordOrder === "little" ? words.reverse() : words;
}

/** The text of a string point: two characters per register, NULs and trailing blanks dropped. */
export function decodeString(
  regs: readonly number[],
  enc: Pick<Encoding, "byteOrder"> = { byteOrder: "big" },
): string {
  const b = toCanonical(regs, { byteOrder: enc.byteOrder, wordOrder: "big" });
  const end = b.indexOf(0);
  return b
    .subarray(0, end < 0 ? b.length : end)
    .toString("latin1")
    .replace(/[\s]+$/, "");
}

/** The raw (unscaled) value of registers; `regs.length` must equal the point's width. */
export function decodeRaw(
  regs: readonly number[],
  enc: Pick<Encoding, "type" | "byteOrder" | "wordOrder" | "length">,
): PointValue {
  const width = widthOf(enc.type, enc.length);
  if (regs.length !== width) throw new RangeError(`${enc.type} needs ${width} registers, got ${regs.length}`);
  if (enc.type === "bool") return regs[0] ? 1 : 0;
  if (enc.type === "string") return decodeString(regs, enc);
  const b = toCanonical(regs, enc);
  switch (enc.type) {
    case "int16":
      return b.readInt16BE(0);
    case "uint16":
      return b.readUInt16BE(0);
    case "int32":
      return b.readInt32BE(0);
    case "uint32":
      return b.readUInt32BE(0);
    case "int64":
      return Number(b.readBigInt64BE(0));
    case "uint64":
      return Number(b.readBigUInt64BE(0));
    case "float32":
      return b.readFloatBE(0);
    case "float64":
      return b.readDoubleBE(0);
  }
}

/** Engineering value: the bit field (if any) of the raw value, then raw * scale + offset. */
export function decode(regs: readonly number[], enc: Encoding): PointValue {
  let raw = decodeRaw(regs, enc);
  if (typeof raw === "string") return raw;
  if (enc.bits)
    raw = Number(
      (BigInt.asUintN(64, BigInt(raw)) >> BigInt(enc.bits.start)) & ((1n << BigInt(enc.bits.count)) - 1n),
    );
  return enc.scale === 1 && enc.offset === 0 ? raw : raw * enc.scale + enc.offset;
}

const RANGES: Partial<Record<ValueType, [number, number]>> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

export type EncodeResult = { ok: true; registers: number[] } | { ok: false; error: string };

/**
 * Registers for an engineering value (the inverse of `decode`): raw = (value - offset) / scale,
 * rounded for integer types, refused when out of the type's range rather than silently wrapped.
 */
export function encode(value: number | boolean, enc: Encoding): EncodeResult {
  if (enc.type === "string") return { ok: false, error: "string points are read-only" };
  if (enc.bits) return { ok: false, error: "bit field points are read-only (the other bits would change)" };
  if (enc.type === "bool") {
    if (typeof value === "boolean") return { ok: true, registers: [value ? 1 : 0] };
    if (value === 0 || value === 1) return { ok: true, registers: [value] };
    return { ok: false, error: `bool value must be true, false, 0 or 1, got ${value}` };
  }
  const v = typeof value === "boolean" ? (value ? 1 : 0) : value;
  if (!Number.isFinite(v)) return { ok: false, error: `value must be a finite number, got ${value}` };
  if (enc.scale === 0) return { ok: false, error: "point has scale 0: cannot invert" };
  let raw = (v - enc.offset) / enc.scale;
  const range = RANGES[enc.type];
  if (range) {
    raw = Math.round(raw);
    if (raw < range[0] || raw > range[1])
      return {
        ok: false,
        error: `value ${value} gives raw ${raw}, outside ${enc.type} range ${range[0]}..${range[1]}`,
      };
  }
  const b = Buffer.alloc(widthOf(enc.type) * 2);
  switch (enc.type) {
    case "int64":
    case "uint64": {
      const big = BigInt(Math.round(raw));
      const [lo, hi] = enc.type === "int64" ? [-(1n << 63n), (1n << 63n) - 1n] : [0n, (1n << 64n) - 1n];
      if (big < lo || big > hi)
        return { ok: false, error: `value ${value} is outside the ${enc.type} range` };
      if (enc.type === "int64") b.writeBigInt64BE(big, 0);
      else b.writeBigUInt64BE(big, 0);
      break;
    }
    case "int16":
      b.writeInt16BE(raw, 0);
      break;
    case "uint16":
      b.writeUInt16BE(raw, 0);
      break;
    case "int32":
      b.writeInt32BE(raw, 0);
      break;
    case "uint32":
      b.writeUInt32BE(raw, 0);
      break;
    case "float32":
      if (Math.abs(raw) > 3.4028234663852886e38)
        return { ok: false, error: `value ${value} is outside the float32 range` };
      b.writeFloatBE(raw, 0);
      break;
    case "float64":
      b.writeDoubleBE(raw, 0);
      break;
  }
  return { ok: true, registers: fromCanonical(b, enc) };
}
