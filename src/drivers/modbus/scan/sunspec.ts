/**
 * SunSpec model discovery: the "SunS" marker at one of the well-known base addresses (40000,
 * 50000, 0; holding registers, zero-based), then the chain of models (id, length) up to the end
 * marker 0xFFFF. The common model (1) names the device: manufacturer, model, version, serial.
 */
import { decodeString } from "../codec.ts";

export const SUNSPEC_BASES = [40000, 50000, 0] as const;
const SUNS = [0x5375, 0x6e53];
const END = 0xffff;
/** A chain longer than this is not SunSpec (or not one we should keep walking). */
const MAX_MODELS = 64;

export interface SunSpecModel {
  id: number;
  /** Registers after the id and length. */
  length: number;
  /** Address of the model's id register. */
  address: number;
}

export interface SunSpecDevice {
  base: number;
  models: SunSpecModel[];
  /** From the common model: manufacturer, model, version, serial (each with its register). */
  common: Record<
    "manufacturer" | "model" | "version" | "serial",
    { address: number; length: number; value: string }
  >;
}

/** Reads `count` holding registers at `address`; rejects when the device refuses or is silent. */
export type ReadHolding = (address: number, count: number) => Promise<number[]>;

/** The common model's string fields, as offsets after its id and length registers. */
const COMMON_FIELDS = { manufacturer: [0, 16], model: [16, 16], version: [40, 8], serial: [48, 16] } as const;

/** Discovers the SunSpec map of a unit, or undefined when none of the base addresses has one. */
export async function discoverSunSpec(read: ReadHolding): Promise<SunSpecDevice | undefined> {
  for (const base of SUNSPEC_BASES) {
    const marker = await read(base, 2).catch(() => undefined);
    if (!marker || marker[0] !== SUNS[0] || marker[1] !== SUNS[1]) continue;
    const models: SunSpecModel[] = [];
    let at = base + 2;
    while (models.length < MAX_MODELS && at + 2 <= 65536) {
      const head = await read(at, 2).catch(() => undefined);
      if (!head || head[0] === END || head[0] === undefined || head[1] === undefined) break;
      models.push({ id: head[0], length: head[1], address: at });
      at += 2 + head[1];
    }
    const device: SunSpecDevice = { base, models, common: {} as SunSpecDevice["common"] };
    const common = models.find((m) => m.id === 1 && m.length >= 64);
    if (common) {
      const regs = await read(common.address + 2, 64).catch(() => undefined);
      if (regs)
        for (const [k, [off, len]] of Object.entries(COMMON_FIELDS))
          device.common[k as keyof typeof COMMON_FIELDS] = {
            address: common.address + 2 + off,
            length: len,
            value: decodeString(regs.slice(off, off + len)),
          };
    }
    return device;
  }
  return undefined;
}
