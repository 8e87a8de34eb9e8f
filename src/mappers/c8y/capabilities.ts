/**
 * Command capabilities (retained `te/<id>/cmd/<op>`) → the entity's supported operations:
 * `114,<c8y op>,...` (the full list, sorted, each time it changes), `118,<log types>`,
 * `119,<config types>` (the latest announced list) and, from `software_list`'s types, the
 * `c8y_SupportedSoftwareTypes` inventory fragment — as thin-edge's mapper sends them.
 */
import { inventoryUpdateTopic } from "../../api/clouds/c8y.ts";
import { parseJson } from "../../api/payloads.ts";
import type { Entity } from "../common/entities.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import { record, smartRestTopic } from "./smartrest.ts";

/** te/ operation → Cumulocity operation fragment (ops without one are not advertised). */
export const C8Y_OPERATION: Readonly<Record<string, string>> = {
  restart: "c8y_Restart",
  software_update: "c8y_SoftwareUpdate",
  config_snapshot: "c8y_UploadConfigFile",
  config_update: "c8y_DownloadConfigFile",
  log_upload: "c8y_LogfileRequest",
  firmware_update: "c8y_Firmware",
};

/** Per entity: operation → the `types` its capability message lists, and the latest config list. */
export interface EntityCapabilities {
  ops: Map<string, string[]>;
  /** The types of the latest config_snapshot/config_update announcement (119 is the latest list). */
  configTypes?: string[];
}
export type CapabilityState = Map<string, EntityCapabilities>;

function typesOf(json: unknown): Result<string[]> {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return { ok: false, error: "a command capability must be a JSON object" };
  const t = (json as { types?: unknown }).types;
  if (t === undefined) return { ok: true, value: [] };
  if (!Array.isArray(t) || !t.every((x) => typeof x === "string"))
    return { ok: false, error: "'types' must be an array of strings" };
  return { ok: true, value: t };
}

const same = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  a === b || (!!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]));

const isConfig = (op: string) => op === "config_snapshot" || op === "config_update";

/** The sorted Cumulocity operations of one entity (thin-edge sorts the 114 list). */
function supported(ops: Map<string, string[]>): string[] {
  return [...new Set([...ops.keys()].map((o) => C8Y_OPERATION[o]).filter((o): o is string => !!o))].sort();
}

const hasConfig = (ops: Map<string, string[]>) => ops.has("config_snapshot") || ops.has("config_update");

/**
 * Applies one capability message (empty payload: capability withdrawn) to `state` and returns
 * what changed for Cumulocity. Re-sent identical capabilities produce nothing.
 */
export function capabilityToC8y(
  state: CapabilityState,
  entity: Entity,
  op: string,
  payload: Buffer,
  ctx: MapperContext,
): Result<OutMessage[]> {
  const caps = state.get(entity.topicId) ?? { ops: new Map<string, string[]>() };
  state.set(entity.topicId, caps);
  const { ops } = caps;
  const before = new Map(ops);
  const beforeConfig = caps.configTypes;
  if (payload.length === 0) {
    ops.delete(op);
    if (isConfig(op) && !hasConfig(ops)) caps.configTypes = undefined;
  } else {
    const j = parseJson(payload);
    if (!j.ok) return j;
    const types = typesOf(j.value);
    if (!types.ok) return types;
    ops.set(op, types.value);
    if (isConfig(op)) caps.configTypes = types.value;
  }
  const topic = smartRestTopic(entity.externalId, ctx.mainId);
  const out: OutMessage[] = [];
  const now = supported(ops);
  if (!same(supported(before), now)) out.push({ topic, payload: record(114, ...now), qos: 1 });
  if (op === "log_upload" && (!same(before.get(op), ops.get(op)) || before.has(op) !== ops.has(op)))
    out.push({ topic, payload: record(118, ...(ops.get(op) ?? [])), qos: 1 });
  if (isConfig(op) && !same(beforeConfig, caps.configTypes))
    out.push({ topic, payload: record(119, ...(caps.configTypes ?? [])), qos: 1 });
  const sw = ops.get("software_list");
  if (op === "software_list" && sw?.length && !same(before.get(op), sw)) out.push(softwareTypes(entity, sw));
  return { ok: true, value: out };
}

function softwareTypes(entity: Entity, types: string[]): OutMessage {
  return {
    topic: inventoryUpdateTopic(entity.externalId),
    payload: JSON.stringify({ c8y_SupportedSoftwareTypes: types }),
    qos: 1,
  };
}

/** Everything the entity's capabilities told Cumulocity, again: after the bridge (re)connects. */
export function announceCapabilities(
  caps: EntityCapabilities,
  entity: Entity,
  ctx: MapperContext,
): OutMessage[] {
  const topic = smartRestTopic(entity.externalId, ctx.mainId);
  const out: OutMessage[] = [{ topic, payload: record(114, ...supported(caps.ops)), qos: 1 }];
  const logs = caps.ops.get("log_upload");
  if (logs) out.push({ topic, payload: record(118, ...logs), qos: 1 });
  if (caps.configTypes) out.push({ topic, payload: record(119, ...caps.configTypes), qos: 1 });
  const sw = caps.ops.get("software_list");
  if (sw?.length) out.push(softwareTypes(entity, sw));
  return out;
}
