/** te/ measurements → `c8y/measurement/measurements/create` (thin-edge's C8yJsonSerializer shape). */
import { validateMeasurement } from "../../api/payloads.ts";
import { nowIso } from "../../api/time.ts";
import type { Entity } from "../common/entities.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import { c8yNumber, str } from "./json.ts";

export const MEASUREMENT_TOPIC = "c8y/measurement/measurements/create";
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

export function measurementToC8y(
  json: unknown,
  entity: Entity,
  topicType: string,
  units: Units | undefined,
  ctx: MapperContext,
): Result<OutMessage[]> {
  const m = validateMeasurement(json);
  if (!m.ok) return m;
  const { values, time, type } = m.value;
  let out = "{";
  if (entity.externalId !== ctx.mainId)
    out += `"externalSource":{"externalId":${str(entity.externalId)},"type":"c8y_Serial"},`;
  for (const key in values) {
    const v = values[key]!;
    if (typeof v === "number") {
      out += `${str(key)}:{${str(key)}:${valueJson(v, units?.get(key))}},`;
    } else {
      out += `${str(key)}:{`;
      let first = true;
      for (const sub in v) {
        out += `${first ? "" : ","}${str(sub)}:${valueJson(v[sub]!, units?.get(`${key}.${sub}`))}`;
        first = false;
      }
      out += "},";
    }
  }
  out += `"time":${str(time ?? nowIso(ctx.now))},"type":${str(type ?? (topicType || DEFAULT_MEASUREMENT_TYPE))}}`;
  return { ok: true, value: [{ topic: MEASUREMENT_TOPIC, payload: out }] };
}
