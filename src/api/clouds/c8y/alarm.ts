/** te/ alarms → SmartREST 301–304 / 306 (clear), or `c8y/alarm/alarms/create` JSON with fragments. */

import { type Severity, validateAlarm } from "../../payloads.ts";
import { nowIso } from "../../time.ts";
import { ALARM_CREATE } from "../c8y.ts";
import { externalSource } from "./event.ts";
import { record, smartRestTopic } from "./smartrest.ts";
import type { C8ySource, C8yTelemetryContext, OutMessage, Result } from "./types.ts";

export const ALARM_TOPIC = ALARM_CREATE;
export const DEFAULT_ALARM_TYPE = "ThinEdgeAlarm";

const TEMPLATE: Record<Severity, number> = { critical: 301, major: 302, minor: 303, warning: 304 };

/** `json` is undefined for an empty payload, which clears the alarm. */
export function alarmToC8y(
  json: unknown,
  entity: C8ySource,
  topicType: string,
  ctx: C8yTelemetryContext,
): Result<OutMessage[]> {
  const type = topicType || DEFAULT_ALARM_TYPE;
  const topic = smartRestTopic(entity.externalId, ctx.mainId);
  if (json === undefined) return { ok: true, value: [{ topic, payload: record(306, type) }] };
  const a = validateAlarm(json);
  if (!a.ok) return a;
  const text = a.value.text ?? type;
  const time = a.value.time ?? nowIso(ctx.now);
  if (Object.keys(a.value.fragments).length === 0) {
    return { ok: true, value: [{ topic, payload: record(TEMPLATE[a.value.severity], type, text, time) }] };
  }
  const body: Record<string, unknown> = {
    type,
    severity: a.value.severity.toUpperCase(),
    text,
    time,
    ...a.value.fragments,
  };
  if (entity.externalId !== ctx.mainId) body.externalSource = externalSource(entity);
  return { ok: true, value: [{ topic: ALARM_TOPIC, payload: JSON.stringify(body) }] };
}
