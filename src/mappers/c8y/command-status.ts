/**
 * Status of commands the mapper created (`te/<id>/cmd/<op>/c8y-mapper-<op-id>`) → Cumulocity:
 * `504,<op-id>` executing, `506,<op-id>` successful, `505,<op-id>,<reason>` failed, whoever created
 * the command (another mapper instance, a retained command replayed after a restart); by name
 * (`501/503/502,<c8y op>`) when there is no numeric id or `c8y.smartrest.use_operation_id` is off.
 * After a terminal status the command is cleared. A successful `log_upload` or `config_snapshot`
 * is first uploaded (`UploadRequest`, run by the HTTP side), which then reports; a successful
 * firmware update is published as `twin/firmware`; `software_list` commands (issued by the mapper
 * itself, no Cumulocity operation) report the list instead.
 */

import { record, smartRestTopic } from "../../api/clouds/c8y/smartrest.ts";
import type { CommandMessage } from "../../api/commands.ts";
import { validateCommand } from "../../api/payloads.ts";
import type { Entity } from "../common/entities.ts";
import type { OutMessage, Result } from "../common/types.ts";
import { c8yOperationName } from "./capabilities.ts";
import { delegation } from "./custom-requests.ts";
import { deviceProfileStatus } from "./device-profile.ts";
import { firmwareTwin } from "./firmware.ts";
import { CMD_ID_PREFIX, type OperationContext } from "./operations.ts";
import { softwareListStatusToC8y } from "./software-list.ts";

export function isMapperCommand(cmdId: string): boolean {
  return cmdId.startsWith(CMD_ID_PREFIX);
}

/** How to report the outcome of one operation: by id or by name. */
export interface OperationRef {
  /** The SmartREST topic of the entity. */
  topic: string;
  opId?: string;
  c8yOp: string;
}

export const executing = (r: OperationRef): OutMessage => ({
  topic: r.topic,
  payload: r.opId ? record(504, r.opId) : record(501, r.c8yOp),
  qos: 1,
});
export const successful = (r: OperationRef, ...params: string[]): OutMessage => ({
  topic: r.topic,
  payload: r.opId ? record(506, r.opId, ...params) : record(503, r.c8yOp, ...params),
  qos: 1,
});
/** thin-edge cuts failure reasons to 500 bytes. */
export const failed = (r: OperationRef, reason: string): OutMessage => {
  const cut = Buffer.from(reason)
    .subarray(0, 500)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
  return { topic: r.topic, payload: r.opId ? record(505, r.opId, cut) : record(502, r.c8yOp, cut), qos: 1 };
};

/** A finished log_upload/config_snapshot whose file must reach Cumulocity before it is reported. */
export interface UploadRequest {
  ref: OperationRef;
  entity: Entity;
  op: "log_upload" | "config_snapshot";
  cmdTopic: string;
  /** The file on the file transfer service. */
  tedgeUrl: string;
  /** Log or config type: the Cumulocity event's type and text. */
  type: string;
}

export interface StatusContext extends OperationContext {
  /** Runs an upload and reports its outcome; absent when the HTTP side is not configured. */
  upload?: (req: UploadRequest) => void;
}

export function operationRef(
  entity: Entity,
  op: string,
  cmdId: string,
  ctx: StatusContext,
  /** The Cumulocity name a delegating operation file gave the command. */
  name?: string,
): OperationRef {
  const suffix = cmdId.slice(CMD_ID_PREFIX.length);
  const opId = ctx.useOperationId && /^\d+$/.test(suffix) ? suffix : undefined;
  const c8yOp = name ?? (c8yOperationName(op) || op);
  return { topic: smartRestTopic(entity.externalId, ctx.mainId), opId, c8yOp };
}

export function commandStatusToC8y(
  json: unknown,
  entity: Entity,
  op: string,
  cmdTopic: string,
  cmdId: string,
  ctx: StatusContext,
): Result<OutMessage[]> {
  const c = validateCommand(json);
  if (!c.ok) return c;
  if (op === "software_list")
    return { ok: true, value: softwareListStatusToC8y(c.value, entity, cmdTopic, ctx) };
  const payload = c.value as unknown as Record<string, unknown>;
  const delegated = delegation(payload);
  const ref = operationRef(entity, op, cmdId, ctx, delegated?.name);
  const reason = typeof c.value.reason === "string" ? c.value.reason : "";
  const clear: OutMessage = { topic: cmdTopic, payload: "", retain: true, qos: 1 };
  const profile = op === "device_profile" ? deviceProfileStatus(payload, entity, ctx) : [];
  switch (c.value.status) {
    case "executing":
      return { ok: true, value: [executing(ref), ...profile] };
    case "successful": {
      if (delegated) {
        const params = delegated.params();
        if (!params.ok) return { ok: true, value: [failed(ref, params.error), clear] };
        return { ok: true, value: [successful(ref, ...params.value), clear] };
      }
      if (op === "log_upload" || op === "config_snapshot") {
        const tedgeUrl = c.value.tedgeUrl;
        const type = c.value.type;
        if (typeof tedgeUrl !== "string" || typeof type !== "string" || !tedgeUrl)
          return { ok: true, value: [failed(ref, `${op} finished without 'tedgeUrl' and 'type'`), clear] };
        if (!ctx.upload)
          return {
            ok: true,
            value: [
              failed(ref, "cannot upload: the Cumulocity HTTP side is not configured (c8y.url)"),
              clear,
            ],
          };
        ctx.upload({ ref, entity, op, cmdTopic, tedgeUrl, type });
        return { ok: true, value: [] };
      }
      const twin =
        op === "firmware_update"
          ? firmwareTwin(c.value as Partial<CommandMessage<"firmware_update">>, entity, ctx)
          : [];
      return { ok: true, value: [...profile, successful(ref), ...twin, clear] };
    }
    case "failed":
      return { ok: true, value: [failed(ref, reason), clear] };
    default:
      return { ok: true, value: [] };
  }
}
