/** Helpers shared by the built-in steps: config reading with clear errors, and te/ measurement series. */
export { matches as topicMatches } from "../../bus/topic-filter.ts";

import { parseDuration } from "../../foundation/duration.ts";
import { jsonObject, type OutMessage, text } from "../types.ts";

export type Config = Record<string, unknown>;

export class StepConfigError extends Error {
  override name = "StepConfigError";
}

export function num(c: Config, key: string, def?: number): number {
  const v = c[key] ?? def;
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new StepConfigError(`config.${key} must be a number`);
  return v;
}

export function optNum(c: Config, key: string): number | undefined {
  return c[key] === undefined ? undefined : num(c, key);
}

export function str(c: Config, key: string, def?: string): string {
  const v = c[key] ?? def;
  if (typeof v !== "string") throw new StepConfigError(`config.${key} must be a string`);
  return v;
}

export function bool(c: Config, key: string, def: boolean): boolean {
  const v = c[key] ?? def;
  if (typeof v !== "boolean") throw new StepConfigError(`config.${key} must be true or false`);
  return v;
}

export function ms(c: Config, key: string, def?: string): number {
  const v = c[key] ?? def;
  try {
    return parseDuration(v, `config.${key}`);
  } catch (e) {
    throw new StepConfigError((e as Error).message);
  }
}

export function strList(c: Config, key: string, def?: string[]): string[] {
  const v = c[key] ?? def;
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
    throw new StepConfigError(`config.${key} must be a list of strings`);
  return v;
}

export function table(c: Config, key: string): Record<string, Config> {
  const v = c[key] ?? {};
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new StepConfigError(`config.${key} must be a table`);
  for (const [k, e] of Object.entries(v))
    if (typeof e !== "object" || e === null || Array.isArray(e))
      throw new StepConfigError(`config.${key}.${k} must be a table`);
  return v as Record<string, Config>;
}

/** A measurement payload's numbers, by series name: `temp`, or `group.key` for one-level groups. */
export function series(payload: Record<string, unknown>): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(payload)) {
    if (k === "time" || k === "type") continue;
    if (typeof v === "number") out.push([k, v]);
    else if (v && typeof v === "object" && !Array.isArray(v))
      for (const [g, x] of Object.entries(v)) if (typeof x === "number") out.push([`${k}.${g}`, x]);
  }
  return out;
}

/** Sets (or with `undefined` deletes) one series in a measurement payload; empty groups go. */
export function setSeries(payload: Record<string, unknown>, name: string, value: number | undefined): void {
  const dot = name.indexOf(".");
  if (dot < 0) {
    if (value === undefined) delete payload[name];
    else payload[name] = value;
    return;
  }
  const g = name.slice(0, dot);
  const k = name.slice(dot + 1);
  const cur = payload[g];
  const group = cur && typeof cur === "object" && !Array.isArray(cur) ? (cur as Record<string, unknown>) : {};
  if (value === undefined) delete group[k];
  else group[k] = value;
  if (Object.keys(group).length === 0) delete payload[g];
  else payload[g] = group;
}

/** The JSON object payload of a message, or a thrown error naming the topic. */
export function measurement(m: { topic: string; payload: string | Uint8Array }): Record<string, unknown> {
  const o = jsonObject(m.payload);
  if (!o) throw new Error(`payload on '${m.topic}' is not a JSON object: ${text(m.payload).slice(0, 80)}`);
  return o;
}

/** The entity part of a te/ topic: `te/device/main///m/x` → `te/device/main//`. */
export function entityOf(topic: string): string | undefined {
  const p = topic.split("/");
  return p.length >= 5 ? p.slice(0, 5).join("/") : undefined;
}

export const json = (topic: string, body: unknown, mqtt?: OutMessage["mqtt"]): OutMessage =>
  mqtt ? { topic, payload: JSON.stringify(body), mqtt } : { topic, payload: JSON.stringify(body) };

export { jsonObject as jsonOf } from "../types.ts";
