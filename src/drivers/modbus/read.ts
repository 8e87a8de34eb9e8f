/**
 * The `modbus_read` command, pure: a one-off read of a register or bit range of a unit, for
 * commissioning (checking an address before adding a point). Never writes.
 */
import { isBitTable, TABLES, type Table } from "./codec.ts";
import { MAX_READ_BITS, MAX_READ_REGISTERS } from "./planner.ts";

export interface ReadRequest {
  table: Table;
  address: number;
  count: number;
}

export type ReadParse = { ok: true; value: ReadRequest } | { ok: false; error: string };

export function resolveRead(cmd: Record<string, unknown>): ReadParse {
  const { table, address, count = 1 } = cmd;
  if (typeof table !== "string" || !(TABLES as readonly string[]).includes(table))
    return { ok: false, error: `'table' must be one of ${TABLES.join(", ")}` };
  if (typeof address !== "number" || !Number.isInteger(address) || address < 0 || address > 65535)
    return { ok: false, error: "'address' must be an integer 0..65535" };
  const max = isBitTable(table as Table) ? MAX_READ_BITS : MAX_READ_REGISTERS;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > max)
    return { ok: false, error: `'count' must be an integer 1..${max} for ${table}` };
  if (address + count > 65536) return { ok: false, error: "the range ends past address 65535" };
  return { ok: true, value: { table: table as Table, address, count } };
}
