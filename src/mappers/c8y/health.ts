/** Service health (`te/<service>/status/health`) → its Cumulocity service status via `102`. */
import { parseJson } from "../../api/payloads.ts";
import type { Entity, EntityCache } from "../common/entities.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import { registrationToC8y } from "./registration.ts";

/** The status string of a health payload; an empty payload (cleared) reads as `down`. */
export function healthStatus(payload: Buffer): Result<string> {
  if (payload.length === 0) return { ok: true, value: "down" };
  const j = parseJson(payload);
  if (!j.ok) return j;
  const v = j.value as { status?: unknown } | null;
  if (v === null || typeof v !== "object" || Array.isArray(v))
    return { ok: false, error: "a health status must be a JSON object" };
  if (v.status === undefined) return { ok: true, value: "unknown" };
  if (typeof v.status !== "string") return { ok: false, error: "'status' must be a string" };
  return { ok: true, value: v.status };
}

export function healthToC8y(
  entity: Entity,
  status: string,
  entities: EntityCache,
  ctx: MapperContext,
): OutMessage[] {
  // Only services have a status in Cumulocity; a device's own health has no counterpart.
  if (entity.kind !== "service") return [];
  return registrationToC8y(entity, entities, ctx, status);
}
