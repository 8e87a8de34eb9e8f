/**
 * The `modbus_write` command, pure: which table, address and register values a command payload
 * asks for. By point name (`{"point":"setpoint","value":21.5}`: the point's type, orders, scale and
 * offset apply) or raw (`{"table":"holding","address":10,"type":"float32","value":21.5}`).
 */
import {
  type Encoding,
  encode,
  isWritableTable,
  TABLES,
  type Table,
  VALUE_TYPES,
  type ValueType,
} from "./codec.ts";
import type { DeviceConfig } from "./config.ts";

export interface WriteRequest {
  table: Table;
  address: number;
  /** Registers, or 0/1 per coil. */
  values: number[];
}

export type WriteParse = { ok: true; value: WriteRequest } | { ok: false; error: string };

export function resolveWrite(dev: DeviceConfig, cmd: Record<string, unknown>): WriteParse {
  if (!dev.writes) return { ok: false, error: `writes are disabled for device '${dev.name}'` };
  const value = cmd.value;
  if (typeof value !== "number" && typeof value !== "boolean")
    return { ok: false, error: "'value' must be a number or a boolean" };
  let table: Table;
  let address: number;
  let enc: Encoding;
  if (cmd.point !== undefined) {
    const p = dev.points.find((x) => x.name === cmd.point);
    if (!p) return { ok: false, error: `device '${dev.name}' has no point '${String(cmd.point)}'` };
    ({ table, address } = p);
    enc = p.encoding;
  } else {
    if (typeof cmd.table !== "string" || !(TABLES as readonly string[]).includes(cmd.table))
      return { ok: false, error: "give 'point', or 'table' (coil or holding), 'address' and 'type'" };
    table = cmd.table as Table;
    const a = cmd.address;
    if (typeof a !== "number" || !Number.isInteger(a) || a < 0 || a > 65535)
      return { ok: false, error: "'address' must be an integer 0..65535" };
    address = a;
    const type = cmd.type ?? (table === "coil" ? "bool" : "uint16");
    if (typeof type !== "string" || !(VALUE_TYPES as readonly string[]).includes(type))
      return { ok: false, error: `'type' must be one of ${VALUE_TYPES.join(", ")}` };
    const order = (k: string) => (cmd[k] === "little" ? "little" : "big");
    enc = {
      type: type as ValueType,
      byteOrder: order("byte_order"),
      wordOrder: order("word_order"),
      scale: 1,
      offset: 0,
    };
  }
  if (!isWritableTable(table))
    return { ok: false, error: `table '${table}' is read-only (write coil or holding)` };
  if (table === "coil" && enc.type !== "bool") return { ok: false, error: "a coil takes type bool" };
  const r = encode(value, enc);
  if (!r.ok) return r;
  if (address + r.registers.length > 65536) return { ok: false, error: "write runs past address 65535" };
  return { ok: true, value: { table, address, values: r.registers } };
}
