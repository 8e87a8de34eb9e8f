/** Service health (`te/<service>/status/health`) → its Cumulocity service status via `102`. */
import { parseJson } from "../../api/payloads.ts";
import type { Entity, EntityCache } from "../common/entities.ts";
import type { MapperContext, OutMessage } from "../common/types.ts";
import { registrationToC8y } from "./registration.ts";

/**
 * The status string of a health payload, as thin-edge reads it: an empty payload (cleared) is
 * `down`; mosquitto's bridge notifications `1`/`0` are `up`/`down`; a missing or empty `status`,
 * and anything else, is `unknown`.
 */
export function healthStatus(payload: Buffer): string {
  if (payload.length === 0) return "down";
  const text = payload.toString("utf8").trim();
  if (text === "1") return "up";
  if (text === "0") return "down";
  const j = parseJson(text);
  const v = j.ok ? (j.value as { status?: unknown } | null) : null;
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "unknown";
  if (typeof v.status !== "string" || v.status === "") return "unknown";
  return v.status;
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
