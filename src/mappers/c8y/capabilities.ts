/**
 * Command capabilities (retained `te/<id>/cmd/<op>`) → the entity's supported operations:
 * `114,<c8y op>,...` (the full list each time), `118,<log types>`, `119,<config types>`.
 */
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
  device_profile: "c8y_DeviceProfile",
};

/** te/ operations Cumulocity has no operation for: never in the supported list. */
const NOT_IN_C8Y: ReadonlySet<string> = new Set(["software_list", "health"]);

/** The Cumulocity name of a te/ operation: the known mapping, else a custom operation's own name. */
export function c8yOperationName(op: string): string {
  return C8Y_OPERATION[op] ?? (NOT_IN_C8Y.has(op) ? "" : op);
}

/** Per entity: operation → the `types` its capability message lists. */
export type CapabilityState = Map<string, Map<string, string[]>>;

function typesOf(json: unknown): Result<string[]> {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return { ok: false, error: "a command capability must be a JSON object" };
  const t = (json as { types?: unknown }).types;
  if (t === undefined) return { ok: true, value: [] };
  if (!Array.isArray(t) || !t.every((x) => typeof x === "string"))
    return { ok: false, error: "'types' must be an array of strings" };
  return { ok: true, value: t };
}

function supportedList(
  ops: Map<string, string[]>,
  entity: Entity,
  ctx: MapperContext,
  files: string[],
  linked: string[] = [],
): string[] {
  const own = [...ops.keys()].filter((o) => !linked.includes(o)).map(c8yOperationName);
  return union([own, entity.externalId === ctx.mainId ? files : []]).filter(Boolean);
}

/** The full `114` of an entity, re-sent when the operation files change. */
export function supportedOperations(
  state: CapabilityState,
  entity: Entity,
  ctx: MapperContext,
  files: string[],
  linked: string[] = [],
): OutMessage {
  const list = supportedList(state.get(entity.topicId) ?? new Map(), entity, ctx, files, linked);
  return { topic: smartRestTopic(entity.externalId, ctx.mainId), payload: record(114, ...list), qos: 1 };
}

const union = (lists: (string[] | undefined)[]): string[] => [...new Set(lists.flatMap((l) => l ?? []))];
const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

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
  /** The main device's operation files (`operations/c8y/<name>`), listed in its 114 too. */
  files: string[] = [],
  /** te/ operations a template file announces under its Cumulocity name instead of their own. */
  linked: string[] = [],
): Result<OutMessage[]> {
  const ops = state.get(entity.topicId) ?? new Map<string, string[]>();
  state.set(entity.topicId, ops);
  const before = new Map(ops);
  if (payload.length === 0) ops.delete(op);
  else {
    const j = parseJson(payload);
    if (!j.ok) return j;
    const types = typesOf(j.value);
    if (!types.ok) return types;
    ops.set(op, types.value);
  }
  const topic = smartRestTopic(entity.externalId, ctx.mainId);
  const out: OutMessage[] = [];
  const supported = (m: Map<string, string[]>) => supportedList(m, entity, ctx, files, linked);
  const now = supported(ops);
  if (!same(supported(before), now)) out.push({ topic, payload: record(114, ...now), qos: 1 });
  if (op === "log_upload") {
    const t = ops.get(op) ?? [];
    if (!same(before.get(op) ?? [], t) || before.has(op) !== ops.has(op))
      out.push({ topic, payload: record(118, ...t), qos: 1 });
  }
  if (op === "config_snapshot" || op === "config_update") {
    const cfg = (m: Map<string, string[]>) => union([m.get("config_snapshot"), m.get("config_update")]);
    const t = cfg(ops);
    const hasCfg = (m: Map<string, string[]>) => m.has("config_snapshot") || m.has("config_update");
    if (!same(cfg(before), t) || hasCfg(before) !== hasCfg(ops))
      out.push({ topic, payload: record(119, ...t), qos: 1 });
  }
  return { ok: true, value: out };
}
