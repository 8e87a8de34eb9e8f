/**
 * Types and boundary validation of te/ payloads, exactly as thin-edge 1.x accepts them.
 * Pure: the caller publishes errors to te/errors.
 */

import { isObj } from "../foundation/json.ts";
import type { Result } from "../foundation/result.ts";
import { normaliseTime } from "./time.ts";
import { ENTITY_TYPES, type EntityType, isEntityType } from "./topics.ts";

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

export type MeasurementValue = number | Record<string, number>;

export interface Measurement {
  /** ISO 8601; absent when the payload had none (the consumer stamps it). */
  time?: string;
  /** From the payload, overriding the topic's type. */
  type?: string;
  values: Record<string, MeasurementValue>;
}

export interface TeEvent {
  text?: string;
  time?: string;
  /** Custom fragments: every other key, kept as given. */
  fragments: Record<string, unknown>;
}

export type Severity = "critical" | "major" | "minor" | "warning";
const SEVERITIES: ReadonlySet<string> = new Set(["critical", "major", "minor", "warning"]);

export interface TeAlarm {
  text?: string;
  severity: Severity;
  time?: string;
  fragments: Record<string, unknown>;
}

export function parseJson(payload: Buffer | string): Result<unknown> {
  const text = typeof payload === "string" ? payload : payload.toString("utf8");
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return fail(`invalid JSON: ${(e as Error).message}`);
  }
}

function takeTime(obj: Record<string, unknown>): Result<string | undefined> {
  if (obj.time === undefined) return { ok: true, value: undefined };
  const t = normaliseTime(obj.time);
  return t.ok ? { ok: true, value: t.iso } : fail(t.error);
}

export function validateMeasurement(json: unknown): Result<Measurement> {
  if (!isObj(json)) return fail("a measurement must be a JSON object");
  const time = takeTime(json);
  if (!time.ok) return time;
  let type: string | undefined;
  if (json.type !== undefined) {
    if (typeof json.type !== "string") return fail("'type' must be a string");
    type = json.type;
  }
  const values: Record<string, MeasurementValue> = {};
  let count = 0;
  for (const [key, v] of Object.entries(json)) {
    if (key === "time" || key === "type") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return fail(`'${key}' is not a finite number`);
      values[key] = v;
    } else if (isObj(v)) {
      const group: Record<string, number> = {};
      for (const [sub, sv] of Object.entries(v)) {
        if (typeof sv === "number" && Number.isFinite(sv)) group[sub] = sv;
        else if (isObj(sv) || Array.isArray(sv))
          return fail(`'${key}.${sub}': measurements nest at most one level (a group of numbers)`);
        else return fail(`'${key}.${sub}' must be a number, got ${JSON.stringify(sv)}`);
      }
      if (Object.keys(group).length === 0) return fail(`group '${key}' is empty`);
      values[key] = group;
    } else {
      return fail(`'${key}' must be a number or a group of numbers, got ${JSON.stringify(v)}`);
    }
    count++;
  }
  if (count === 0) return fail("a measurement must have at least one value");
  return { ok: true, value: { time: time.value, type, values } };
}

function textAndFragments(
  json: Record<string, unknown>,
  skip: string[],
): Result<{ text?: string; fragments: Record<string, unknown> }> {
  if (json.text !== undefined && typeof json.text !== "string") return fail("'text' must be a string");
  const fragments: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (!skip.includes(k)) fragments[k] = v;
  return { ok: true, value: { text: json.text as string | undefined, fragments } };
}

/** An empty payload is a valid event with no text. */
export function validateEvent(json: unknown): Result<TeEvent> {
  if (json === undefined) return { ok: true, value: { fragments: {} } };
  if (!isObj(json)) return fail("an event must be a JSON object");
  const time = takeTime(json);
  if (!time.ok) return time;
  const rest = textAndFragments(json, ["text", "time"]);
  if (!rest.ok) return rest;
  return { ok: true, value: { ...rest.value, time: time.value } };
}

/** Default and unknown severities map to minor, as thin-edge does. */
export function validateAlarm(json: unknown): Result<TeAlarm> {
  if (!isObj(json)) return fail("an alarm must be a JSON object");
  const time = takeTime(json);
  if (!time.ok) return time;
  const rest = textAndFragments(json, ["text", "time", "severity"]);
  if (!rest.ok) return rest;
  const s = typeof json.severity === "string" ? json.severity.toLowerCase() : "minor";
  const severity = (SEVERITIES.has(s) ? s : "minor") as Severity;
  return { ok: true, value: { ...rest.value, severity, time: time.value } };
}

export interface Registration {
  "@type": EntityType;
  "@parent"?: string;
  "@id"?: string;
  name?: string;
  type?: string;
  [key: string]: unknown;
}

export function validateRegistration(json: unknown): Result<Registration> {
  if (!isObj(json)) return fail("a registration must be a JSON object");
  const t = json["@type"];
  if (!isEntityType(t)) return fail(`'@type' must be one of ${ENTITY_TYPES.join(", ")}`);
  for (const k of ["@parent", "@id", "name", "type"]) {
    if (json[k] !== undefined && typeof json[k] !== "string") return fail(`'${k}' must be a string`);
  }
  return { ok: true, value: json as Registration };
}

export type CommandStatus = "init" | "executing" | "successful" | "failed" | (string & {});

export interface CommandPayload {
  status: CommandStatus;
  reason?: string;
  [key: string]: unknown;
}

export function validateCommand(json: unknown): Result<CommandPayload> {
  if (!isObj(json)) return fail("a command must be a JSON object");
  if (typeof json.status !== "string") return fail("a command needs a string 'status'");
  return { ok: true, value: json as CommandPayload };
}
