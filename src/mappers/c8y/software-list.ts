/**
 * `software_list` ↔ Cumulocity's advanced software list. The mapper asks each entity that announces
 * the `software_list` capability for its list (and again after a successful c8y_SoftwareUpdate);
 * the agent's `currentSoftwareList` goes to the entity's SmartREST topic as
 * `140,<name>,<version>,<type>,<url>,...` (set the list) followed by `141,...` (append) when it is
 * split, and `140,,,,` for an empty list. The template ids, field order and splitting follow
 * thin-edge's c8y mapper (`crates/core/c8y_api/src/smartrest/smartrest_serializer.rs`,
 * `get_advanced_software_list_payloads`: first chunk 140, the rest 141; Cumulocity's
 * "set/append advanced software list" SmartREST 2.0 static templates).
 */

import { record, smartRestTopic } from "../../api/clouds/c8y/smartrest.ts";
import type { CommandPayload } from "../../api/payloads.ts";
import { isObj } from "../../foundation/json.ts";
import type { Entity } from "../common/entities.ts";
import { errorMessage } from "../common/errors.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import { CMD_ID_PREFIX } from "./operations.ts";

/** thin-edge sends 100 modules per message. */
export const MODULES_PER_MESSAGE = 100;
/** Cumulocity's MQTT payload limit is 16 KiB: stay below it even with long names and URLs. */
export const MAX_MESSAGE_BYTES = 16_000;

export interface ListedModule {
  name: string;
  version: string;
  type: string;
  url: string;
}

/** The agent's `currentSoftwareList` (`[{type, modules:[{name, version?, url?}]}]`), flattened. */
export function parseSoftwareList(json: unknown): Result<ListedModule[]> {
  const list = isObj(json) ? json.currentSoftwareList : undefined;
  if (!Array.isArray(list))
    return { ok: false, error: "a successful software_list needs 'currentSoftwareList'" };
  const out: ListedModule[] = [];
  for (const group of list) {
    if (!isObj(group) || !Array.isArray(group.modules))
      return { ok: false, error: "each currentSoftwareList entry needs a 'modules' array" };
    const type = typeof group.type === "string" && group.type ? group.type : "default";
    for (const m of group.modules) {
      if (!isObj(m) || typeof m.name !== "string" || !m.name)
        return { ok: false, error: `each '${type}' module needs a string 'name'` };
      out.push({
        name: m.name,
        version: typeof m.version === "string" ? m.version : "",
        type,
        url: typeof m.url === "string" ? m.url : "",
      });
    }
  }
  return { ok: true, value: out };
}

/** `140,...` then `141,...` records, each at most `perMessage` modules and (unless one module alone is bigger) `maxBytes`. */
export function softwareListRecords(
  modules: ListedModule[],
  perMessage = MODULES_PER_MESSAGE,
  maxBytes = MAX_MESSAGE_BYTES,
): string[] {
  if (modules.length === 0) return [record(140, "", "", "", "")];
  const out: string[] = [];
  let current = "";
  let count = 0;
  for (const m of modules) {
    const fields = record(0, m.name, m.version, m.type, m.url).slice(1); // ",name,version,type,url"
    const full = count >= perMessage || Buffer.byteLength(current) + Buffer.byteLength(fields) > maxBytes;
    if (count > 0 && full) {
      out.push(current);
      current = "";
      count = 0;
    }
    if (count === 0) current = out.length === 0 ? "140" : "141";
    current += fields;
    count++;
  }
  out.push(current);
  return out;
}

/**
 * The status of a mapper-issued `software_list` command: `successful` → the 140/141 messages,
 * `failed` or a list that cannot be read → `te/errors`; either way the command is then cleared.
 * There is no Cumulocity operation to report `executing` to.
 */
export function softwareListStatusToC8y(
  cmd: CommandPayload,
  entity: Entity,
  cmdTopic: string,
  ctx: MapperContext,
): OutMessage[] {
  if (cmd.status !== "successful" && cmd.status !== "failed") return [];
  const clear: OutMessage = { topic: cmdTopic, payload: "", retain: true, qos: 1 };
  if (cmd.status === "failed") {
    const reason = typeof cmd.reason === "string" && cmd.reason ? cmd.reason : "no reason given";
    return [errorMessage(ctx, cmdTopic, `software_list failed: ${reason}`), clear];
  }
  const list = parseSoftwareList(cmd);
  if (!list.ok) return [errorMessage(ctx, cmdTopic, list.error), clear];
  const topic = smartRestTopic(entity.externalId, ctx.mainId);
  return [...softwareListRecords(list.value).map((payload) => ({ topic, payload, qos: 1 as const })), clear];
}

/** The retained `software_list` request the mapper issues to `entity`. */
export function softwareListCommand(entity: Entity, seq: number, ctx: MapperContext): OutMessage {
  return {
    topic: `${ctx.root}/${entity.topicId}/cmd/software_list/${CMD_ID_PREFIX}software-list-${ctx.now()}-${seq}`,
    payload: '{"status":"init"}',
    retain: true,
    qos: 1,
  };
}
