/**
 * `ledge modbus scan`: which units answer on a serial line (at which baud rate and parity) or a
 * TCP host, what they are (function 43/14 identification, SunSpec models), bounded in time. Only
 * reads (functions 3, 4 and 43): a scan never writes to a device.
 */
import type { Parity } from "../../common/serial/transport.ts";
import type { Transport } from "../config.ts";
import { classify, ModbusLink, type PortFactory } from "../link.ts";
import { discoverSunSpec, type SunSpecDevice } from "./sunspec.ts";

export type ScanTarget =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "rtu"; path: string; bauds: number[]; parities: Parity[]; dataBits: 7 | 8; stopBits: 1 | 2 };

export interface ScanOptions {
  target: ScanTarget;
  /** Unit ids to try, inclusive. */
  from: number;
  to: number;
  /** Per request. */
  timeoutMs: number;
  /** The whole scan; units not tried by then are reported. */
  maxTimeMs: number;
  clock?: () => number;
  /** How serial ports are opened (tests wrap the RTU port). */
  serialPort?: PortFactory;
  progress?: (line: string) => void;
}

export interface FoundUnit {
  transport: Transport;
  unitId: number;
  /** The first register that answered: a point the proposal can start from. */
  answered: { table: "holding" | "input"; address: number };
  identification?: { vendor?: string; product?: string; revision?: string };
  sunspec?: SunSpecDevice;
}

export interface ScanResult {
  found: FoundUnit[];
  /** Requests sent (probes, identification, SunSpec). */
  requests: number;
  /** Settings × units tried. */
  tried: number;
  /** Set when the time ran out: what was not tried. */
  incomplete?: string;
  /** Answers with a bad CRC, by settings: a unit may be there at other settings, or the line is noisy. */
  crcErrors: Record<string, number>;
}

export function settingsOf(t: Transport): string {
  return t.kind === "tcp"
    ? `${t.host}:${t.port}`
    : `${t.baudRate} ${t.dataBits}${t.parity[0]!.toUpperCase()}${t.stopBits}`;
}

function transports(target: ScanTarget): Transport[] {
  if (target.kind === "tcp") return [target];
  const out: Transport[] = [];
  for (const baudRate of target.bauds)
    for (const parity of target.parities)
      out.push({
        kind: "rtu",
        path: target.path,
        baudRate,
        parity,
        dataBits: target.dataBits,
        stopBits: target.stopBits,
      });
  return out;
}

export async function scan(o: ScanOptions): Promise<ScanResult> {
  const clock = o.clock ?? Date.now;
  const deadline = clock() + o.maxTimeMs;
  const result: ScanResult = { found: [], requests: 0, tried: 0, crcErrors: {} };
  const foundIds = new Set<number>();
  const all = transports(o.target);
  for (const [ti, t] of all.entries()) {
    const link = new ModbusLink(t, { serialPort: o.serialPort });
    const setting = settingsOf(t);
    o.progress?.(`trying ${setting}, units ${o.from}..${o.to}`);
    try {
      for (let unit = o.from; unit <= o.to; unit++) {
        if (foundIds.has(unit)) continue;
        if (clock() + o.timeoutMs > deadline) {
          result.incomplete = `time ran out at ${setting} unit ${unit}${ti + 1 < all.length ? ` (${all.length - ti - 1} more setting(s) not tried)` : ""}`;
          return result;
        }
        result.tried++;
        const found = await probe(link, t, unit, o.timeoutMs, result);
        if (!found) continue;
        foundIds.add(unit);
        o.progress?.(`unit ${unit} answers at ${setting}`);
        await identify(link, found, o.timeoutMs, result);
        result.found.push(found);
      }
    } finally {
      await link.close();
    }
  }
  return result;
}

/** A unit is there when it answers at all: data, or an exception (it heard and refused). */
async function probe(
  link: ModbusLink,
  t: Transport,
  unit: number,
  timeoutMs: number,
  result: ScanResult,
): Promise<FoundUnit | undefined> {
  for (const table of ["holding", "input"] as const) {
    result.requests++;
    try {
      await link.read(unit, table, 0, 1, timeoutMs);
      return { transport: t, unitId: unit, answered: { table, address: 0 } };
    } catch (e) {
      const err = classify(e);
      if (err.kind === "crc") {
        const k = settingsOf(t);
        result.crcErrors[k] = (result.crcErrors[k] ?? 0) + 1;
        return undefined;
      }
      if (err.kind !== "exception") return undefined;
      // illegal function: maybe it only has input registers; anything else: it is there
      if (err.code !== 1 || table === "input")
        return { transport: t, unitId: unit, answered: { table: "holding", address: 0 } };
    }
  }
  return undefined;
}

async function identify(
  link: ModbusLink,
  unit: FoundUnit,
  timeoutMs: number,
  result: ScanResult,
): Promise<void> {
  result.requests++;
  try {
    const id = await link.identify(unit.unitId, timeoutMs);
    unit.identification = { vendor: id[0], product: id[1], revision: id[2] };
  } catch {
    // most devices answer exception 1 (no function 43): nothing to learn, nothing wrong
  }
  unit.sunspec = await discoverSunSpec((address, count) => {
    result.requests++;
    return link.read(unit.unitId, "holding", address, count, timeoutMs);
  });
}
