/**
 * Request coalescing: the points of one device become as few read requests as the protocol
 * allows. Points of the same table are merged while the gap between them is at most `maxGap`
 * registers (bits for coil tables) and the request stays within the protocol's limit
 * (125 registers for FC3/FC4, 2000 bits for FC1/FC2, lower when configured). Pure.
 */
import { isBitTable, TABLES, type Table } from "./codec.ts";

/** The Modbus application protocol's limits per read request. */
export const MAX_READ_REGISTERS = 125;
export const MAX_READ_BITS = 2000;

export interface PlanPoint {
  table: Table;
  address: number;
  /** Registers (or bits) the point occupies. */
  width: number;
}

export interface ReadBlock {
  table: Table;
  start: number;
  count: number;
  /** Indexes into the planned points array, in address order. */
  points: number[];
}

export interface PlanOptions {
  /** Largest hole (unused registers/bits) that may be read to save a request. */
  maxGap: number;
  maxRegisters?: number;
  maxBits?: number;
}

export function planReads<P extends PlanPoint>(points: readonly P[], opts: PlanOptions): ReadBlock[] {
  const maxRegs = Math.min(opts.maxRegisters ?? MAX_READ_REGISTERS, MAX_READ_REGISTERS);
  const maxBits = Math.min(opts.maxBits ?? MAX_READ_BITS, MAX_READ_BITS);
  const blocks: ReadBlock[] = [];
  for (const table of TABLES) {
    const limit = isBitTable(table) ? maxBits : maxRegs;
    const idx = points
      .map((p, i) => [p, i] as const)
      .filter(([p]) => p.table === table)
      .sort(([a, ai], [b, bi]) => a.address - b.address || b.width - a.width || ai - bi);
    let cur: ReadBlock | undefined;
    for (const [p, i] of idx) {
      const end = p.address + p.width;
      if (cur) {
        const curEnd = cur.start + cur.count;
        const gap = p.address - curEnd;
        const newEnd = Math.max(curEnd, end);
        if (gap <= opts.maxGap && newEnd - cur.start <= limit) {
          cur.count = newEnd - cur.start;
          cur.points.push(i);
          continue;
        }
      }
      cur = { table, start: p.address, count: p.width, points: [i] };
      blocks.push(cur);
    }
  }
  return blocks;
}

/** One request per point: the fallback when a coalesced read spans addresses the device refuses. */
export function splitBlock<P extends PlanPoint>(block: ReadBlock, points: readonly P[]): ReadBlock[] {
  return block.points.map((i) => {
    const p = points[i]!;
    return { table: block.table, start: p.address, count: p.width, points: [i] };
  });
}
