/**
 * Register codecs: Modbus registers (16-bit words) ↔ engineering values. Pure.
 *
 * Byte order swaps the two bytes inside each register; word order swaps the registers of a
 * multi-register value. Big/big is the Modbus convention ("ABCD"); little word order is the common
 * "CDAB" of many PLCs; little/little is "DCBA"; little byte order with big words is "BADC".
 */
export type Table = "coil" | "discrete_input" | "holding" | "input";
export type ValueType = "bool" | "int16" | "uint16" | "int32" | "uint32" | "float32" | "float64";
export type Order = "big" | "little";

export const TABLES: readonly Table[] = ["coil", "discrete_input", "holding", "input"];
export const VALUE_TYPES: readonly ValueType[] = [
  "bool",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "float32",
  "float64",
];

export interface Encoding {
  type: ValueType;
  byteOrder: Order;
  wordOrder: Order;
  /** value = raw * scale + offset */
  scale: number;
  offset: number;
}

export const isBitTable = (t: Table): boolean => t === "coil" || t === "discrete_input";
export const isWritableTable = (t: Table): boolean => t === "coil" || t === "holding";

/** How many registers (or bits, for coil tables) a value occupies. */
export function widthOf(type: ValueType): number {
  switch (type) {
    case "bool":
    case "int16":
    case "uint16":
      return 1;
    case "int32":
    case "uint32":
    case "float32":
      return 2;
    case "float64":
      return 4;
  }
}

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

/** The raw (unscaled) value of registers; `regs.length` must equal `widthOf(type)`. */
export function decodeRaw(
  regs: readonly number[],
  enc: Pick<Encoding, "type" | "byteOrder" | "wordOrder">,
): number {
  if (regs.length !== widthOf(enc.type))
    throw new RangeError(`${enc.type} needs ${widthOf(enc.type)} registers, got ${regs.length}`);
  if (enc.type === "bool") return regs[0] ? 1 : 0;
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
    case "float32":
      return b.readFloatBE(0);
    case "float64":
      return b.readDoubleBE(0);
  }
}

/** Engineering value: raw * scale + offset. */
export function decode(regs: readonly number[], enc: Encoding): number {
  const raw = decodeRaw(regs, enc);
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
