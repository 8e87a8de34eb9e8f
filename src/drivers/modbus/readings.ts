/**
 * From read blocks to te/ messages, pure: decode the points of a block, group the values into one
 * Thin Edge JSON measurement per measurement type, and turn threshold crossings into alarm
 * raises and clears.
 */
import type { OutMessage } from "../../bus/bus.ts";
import { decode, type PointValue } from "./codec.ts";
import type { Condition, PointConfig } from "./config.ts";
import type { ReadBlock } from "./planner.ts";

export interface Reading {
  point: PointConfig;
  value: PointValue;
}

/** Values of the block's points from the registers (or bits) read for it. */
export function decodeBlock(
  points: readonly PointConfig[],
  block: ReadBlock,
  data: readonly number[],
): Reading[] {
  const out: Reading[] = [];
  for (const i of block.points) {
    const p = points[i]!;
    const from = p.address - block.start;
    const regs = data.slice(from, from + p.width);
    if (regs.length !== p.width) continue;
    const value = decode(regs, p.encoding);
    if (typeof value === "string" || Number.isFinite(value)) out.push({ point: p, value });
  }
  return out;
}

export function deviceTopic(root: string, device: string): string {
  return `${root}/device/${device}//`;
}

/** One measurement message per type, `time` the read time. */
export function measurementMessages(
  root: string,
  device: string,
  readings: readonly Reading[],
  iso: string,
): OutMessage[] {
  const byType = new Map<string, Record<string, number | Record<string, number>>>();
  for (const { point, value } of readings) {
    if (point.dest.kind !== "measurement" || typeof value !== "number") continue;
    const d = point.dest;
    const body = byType.get(d.type) ?? {};
    byType.set(d.type, body);
    if (d.group) {
      const g = body[d.group];
      const group = typeof g === "object" ? g : {};
      group[d.series] = value;
      body[d.group] = group;
    } else body[d.series] = value;
  }
  return [...byType].map(([type, body]) => ({
    topic: `${deviceTopic(root, device)}/m/${type}`,
    payload: JSON.stringify({ ...body, time: iso }),
    retain: false,
    qos: 0,
  }));
}

export function conditionHolds(value: number, c: Condition, threshold: number): boolean {
  switch (c) {
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
    case "==":
      return value === threshold;
    case "!=":
      return value !== threshold;
  }
}

/**
 * Alarm raises and clears for the readings of alarm points. `active` (alarm type → raised) is
 * updated in place; a type never seen before publishes its state either way, so an alarm left
 * retained by an earlier run is cleared when the condition no longer holds.
 */
export function alarmMessages(
  root: string,
  device: string,
  readings: readonly Reading[],
  active: Map<string, boolean>,
  iso: string,
): OutMessage[] {
  const out: OutMessage[] = [];
  for (const { point, value } of readings) {
    if (point.dest.kind !== "alarm" || typeof value !== "number") continue;
    const a = point.dest;
    const now = conditionHolds(value, a.condition, a.threshold);
    if (active.get(a.type) === now) continue;
    active.set(a.type, now);
    out.push({
      topic: `${deviceTopic(root, device)}/a/${a.type}`,
      payload: now ? JSON.stringify({ text: a.text, severity: a.severity, time: iso, value }) : "",
      retain: true,
      qos: 1,
    });
  }
  return out;
}

/**
 * Retained twin fragments of twin points (strings such as a serial number or firmware version),
 * only when a value differs from the last one published (`last`: fragment → JSON, updated in place).
 */
export function twinMessages(
  root: string,
  device: string,
  readings: readonly Reading[],
  last: Map<string, string>,
): OutMessage[] {
  const out: OutMessage[] = [];
  for (const { point, value } of readings) {
    if (point.dest.kind !== "twin") continue;
    const payload = JSON.stringify(value);
    if (last.get(point.dest.fragment) === payload) continue;
    last.set(point.dest.fragment, payload);
    out.push({
      topic: `${deviceTopic(root, device)}/twin/${point.dest.fragment}`,
      payload,
      retain: true,
      qos: 1,
    });
  }
  return out;
}
