/**
 * Command capabilities (retained `te/<id>/cmd/<op>`) → the entity's supported operations:
 * `114,<c8y op>,...` (the full list, sorted, each time it changes), `118,<log types>`,
 * `119,<config types>` (the latest announced list) and, from `software_list`'s types, the
 * `c8y_SupportedSoftwareTypes` inventory fragment — as thin-edge's mapper sends them.
 */

import { record, smartRestTopic } from "../../api/clouds/c8y/smartrest.ts";
import { inventoryUpdateTopic } from "../../api/clouds/c8y.ts";
import { parseJson } from "../../api/payloads.ts";
import type { Entity } from "../common/entities.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";

/** te/ operation → Cumulocity operation fragment (ops without one are not advertised). */
export const C8Y_OPERATION: Readonly<Record<string, string>> = {
  restart: "c8y_Restart",
  software_update: "c8y_SoftwareUpdate",
  config_snapshot: "c8y_UploadConfigFile",
  config_update: "c8y_DownloadConfigFile",
  log_upload: "c8y_LogfileRequest",
  firmware_update: "c8y_Firmware",
  device_profile: "c8y_DeviceProfile",
};

/** te/ operations Cumulocity has no operation for: never in the supported list. */
const NOT_IN_C8Y: ReadonlySet<string> = new Set(["software_list", "health"]);

/** The Cumulocity name of a te/ operation: the known mapping, else a custom operation's own name. */
export function c8yOperationName(op: string): string {
  return C8Y_OPERATION[op] ?? (NOT_IN_C8Y.has(op) ? "" : op);
}

/**
 * The main device's operation files (`operations/c8y/<name>`, listed in its 114 too) and the te/
 * operations that template files announce under their Cumulocity name instead of their own.
 */
export interface OperationFileNames {
  files: string[];
  linked: string[];
}

const NO_FILES: OperationFileNames = { files: [], linked: [] };

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
function supported(ops: Map<string, string[]>, names: OperationFileNames = NO_FILES): string[] {
  const own = [...ops.keys()].filter((o) => !names.linked.includes(o)).map(c8yOperationName);
  return [...new Set([...own, ...names.files].filter(Boolean))].sort();
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
  names: OperationFileNames = NO_FILES,
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
  const now = supported(ops, names);
  if (!same(supported(before, names), now)) out.push({ topic, payload: record(114, ...now), qos: 1 });
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
  names: OperationFileNames = NO_FILES,
): OutMessage[] {
  const topic = smartRestTopic(entity.externalId, ctx.mainId);
  const out: OutMessage[] = [{ topic, payload: record(114, ...supported(caps.ops, names)), qos: 1 }];
  const logs = caps.ops.get("log_upload");
  if (logs) out.push({ topic, payload: record(118, ...logs), qos: 1 });
  if (caps.configTypes) out.push({ topic, payload: record(119, ...caps.configTypes), qos: 1 });
  const sw = caps.ops.get("software_list");
  if (sw?.length) out.push(softwareTypes(entity, sw));
  return out;
}

/** The full `114` of an entity, re-sent when the operation files change. */
export function supportedOperations(
  state: CapabilityState,
  entity: Entity,
  ctx: MapperContext,
  names: OperationFileNames,
): OutMessage {
  const ops = state.get(entity.topicId)?.ops ?? new Map<string, string[]>();
  return {
    topic: smartRestTopic(entity.externalId, ctx.mainId),
    payload: record(114, ...supported(ops, names)),
    qos: 1,
  };
}
