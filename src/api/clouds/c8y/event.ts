/** te/ events → SmartREST `400` (main device, no fragments) or `c8y/event/events/create` JSON. */

import { validateEvent } from "../../payloads.ts";
import { nowIso } from "../../time.ts";
import { EVENT_CREATE, SMARTREST_UP } from "../c8y.ts";
import { quoted, record } from "./smartrest.ts";
import type { C8ySource, C8yTelemetryContext, OutMessage, Result } from "./types.ts";

export const EVENT_TOPIC = EVENT_CREATE;
export const DEFAULT_EVENT_TYPE = "ThinEdgeEvent";

export function externalSource(entity: C8ySource): { externalId: string; type: "c8y_Serial" } {
  return { externalId: entity.externalId, type: "c8y_Serial" };
}

export function eventToC8y(
  json: unknown,
  entity: C8ySource,
  topicType: string,
  ctx: C8yTelemetryContext,
): Result<OutMessage[]> {
  const e = validateEvent(json);
  if (!e.ok) return e;
  // A string `type` in the payload names the event (thin-edge): it is not a custom fragment.
  const { type: own, ...fragments } = e.value.fragments;
  const type = (typeof own === "string" && own) || topicType || DEFAULT_EVENT_TYPE;
  if (own !== undefined && typeof own !== "string") fragments.type = own;
  const text = e.value.text ?? type;
  const time = e.value.time ?? nowIso(ctx.now);
  const isMain = entity.externalId === ctx.mainId;
  if (isMain && Object.keys(fragments).length === 0) {
    return {
      ok: true,
      value: [{ topic: SMARTREST_UP, payload: record(400, type, { raw: quoted(text) }, time) }],
    };
  }
  const body: Record<string, unknown> = { type, text, time, ...fragments };
  if (!isMain) body.externalSource = externalSource(entity);
  return { ok: true, value: [{ topic: EVENT_TOPIC, payload: JSON.stringify(body) }] };
}
