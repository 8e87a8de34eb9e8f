/** te/ measurements → `c8y/measurement/measurements/create` (thin-edge's C8yJsonSerializer shape). */

import { isObj } from "../../../foundation/json.ts";
import { validateMeasurement } from "../../payloads.ts";
import { normaliseTime, nowIso } from "../../time.ts";
import { MEASUREMENT_CREATE } from "../c8y.ts";
import { c8yNumber, str } from "./json.ts";
import type { C8ySource, C8yTelemetryContext, OutMessage, Result } from "./types.ts";

export const MEASUREMENT_TOPIC = MEASUREMENT_CREATE;
export const DEFAULT_MEASUREMENT_TYPE = "ThinEdgeMeasurement";

/** Units by series: `temperature` for a top-level value, `Climate.Temperature` for a group member. */
export type Units = ReadonlyMap<string, string>;

/** Parses a retained `te/.../m/<type>/meta` payload: `{"Climate.Temperature":{"unit":"°C"}}`. */
export function parseUnits(json: unknown): Result<Units> {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return { ok: false, error: "measurement metadata must be a JSON object" };
  const units = new Map<string, string>();
  for (const [key, v] of Object.entries(json)) {
    if (v && typeof v === "object" && typeof (v as { unit?: unknown }).unit === "string")
      units.set(key, (v as { unit: string }).unit);
  }
  return { ok: true, value: units };
}

function valueJson(v: number, unit: string | undefined): string {
  return unit === undefined ? `{"value":${c8yNumber(v)}}` : `{"value":${c8yNumber(v)},"unit":${str(unit)}}`;
}

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

/**
 * Validates (the rules of `validateMeasurement`) and serialises in one pass over the parsed JSON:
 * the hot path of the mapper allocates only the output string. A rejected payload is reported with
 * `validateMeasurement`'s message, so both name the same fault when a payload has several
 * (test/mappers/measurement-agreement.test.ts holds the two to the same verdicts).
 */
export const measurementToC8y: typeof serialise = (json, ...rest) => {
  const out = serialise(json, ...rest);
  if (out.ok) return out;
  const checked = validateMeasurement(json);
  return checked.ok ? out : checked;
};

function serialise(
  json: unknown,
  entity: C8ySource,
  topicType: string,
  units: Units | undefined,
  ctx: C8yTelemetryContext,
): Result<OutMessage[]> {
  if (!isObj(json)) return fail("a measurement must be a JSON object");
  let time: string | undefined;
  let type: string | undefined;
  let out =
    entity.externalId === ctx.mainId
      ? "{"
      : `{"externalSource":{"externalId":${str(entity.externalId)},"type":"c8y_Serial"},`;
  let count = 0;
  for (const key in json) {
    const v = json[key];
    if (key === "time") {
      const t = normaliseTime(v);
      if (!t.ok) return t;
      time = t.iso;
      continue;
    }
    if (key === "type") {
      if (typeof v !== "string") return fail("'type' must be a string");
      type = v;
      continue;
    }
    // thin-edge: the fragment would collide with the child's own `externalSource`.
    if (key === "externalSource")
      return fail("'externalSource' is reserved and cannot be a measurement name");
    const k = str(key);
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return fail(`'${key}' is not a finite number`);
      out += `${k}:{${k}:${valueJson(v, units?.get(key))}},`;
    } else if (isObj(v)) {
      out += `${k}:{`;
      let first = true;
      for (const sub in v) {
        const sv = v[sub];
        if (typeof sv === "number" && Number.isFinite(sv)) {
          out += `${first ? "" : ","}${str(sub)}:${valueJson(sv, units?.get(`${key}.${sub}`))}`;
          first = false;
        } else if (isObj(sv) || Array.isArray(sv))
          return fail(`'${key}.${sub}': measurements nest at most one level (a group of numbers)`);
        else return fail(`'${key}.${sub}' must be a number, got ${JSON.stringify(sv)}`);
      }
      if (first) return fail(`group '${key}' is empty`);
      out += "},";
    } else {
      return fail(`'${key}' must be a number or a group of numbers, got ${JSON.stringify(v)}`);
    }
    count++;
  }
  if (count === 0) return fail("a measurement must have at least one value");
  out += `"time":${str(time ?? nowIso(ctx.now))},"type":${str(type ?? (topicType || DEFAULT_MEASUREMENT_TYPE))}}`;
  return { ok: true, value: [{ topic: MEASUREMENT_TOPIC, payload: out }] };
}
