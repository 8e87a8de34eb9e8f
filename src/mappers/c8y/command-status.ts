/**
 * Status of commands the mapper created (`te/<id>/cmd/<op>/c8y-mapper-<op-id>`) → Cumulocity:
 * `504,<op-id>` executing, `506,<op-id>` successful, `505,<op-id>,<reason>` failed; without an
 * operation id, `501/503/502,<c8y op>`. After a terminal status the command is cleared. A successful
 * firmware update also sets the `c8y_Firmware` inventory fragment; `software_list` commands (issued
 * by the mapper itself, no Cumulocity operation) report the list instead.
 */
import { validateCommand } from "../../api/payloads.ts";
import type { Entity } from "../common/entities.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import { c8yOperationName } from "./capabilities.ts";
import { delegation } from "./custom-requests.ts";
import { deviceProfileStatus } from "./device-profile.ts";
import { firmwareInventory } from "./firmware.ts";
import { CMD_ID_PREFIX } from "./operations.ts";
import { record, smartRestTopic } from "./smartrest.ts";
import { softwareListStatusToC8y } from "./software-list.ts";

export function isMapperCommand(cmdId: string): boolean {
  return cmdId.startsWith(CMD_ID_PREFIX);
}

export function commandStatusToC8y(
  json: unknown,
  entity: Entity,
  op: string,
  cmdTopic: string,
  cmdId: string,
  ctx: MapperContext,
): Result<OutMessage[]> {
  const c = validateCommand(json);
  if (!c.ok) return c;
  if (op === "software_list")
    return { ok: true, value: softwareListStatusToC8y(c.value, entity, cmdTopic, ctx) };
  const suffix = cmdId.slice(CMD_ID_PREFIX.length);
  const opId = /^\d+$/.test(suffix) ? suffix : undefined;
  const delegated = delegation(c.value as unknown as Record<string, unknown>);
  const c8yOp = delegated?.name ?? (c8yOperationName(op) || op);
  const topic = smartRestTopic(entity.externalId, ctx.mainId);
  const reason = typeof c.value.reason === "string" ? c.value.reason : "";
  const clear: OutMessage = { topic: cmdTopic, payload: "", retain: true, qos: 1 };
  const profile =
    op === "device_profile"
      ? deviceProfileStatus(c.value as unknown as Record<string, unknown>, entity, ctx)
      : [];
  switch (c.value.status) {
    case "executing":
      return {
        ok: true,
        value: [{ topic, payload: opId ? record(504, opId) : record(501, c8yOp), qos: 1 }, ...profile],
      };
    case "successful": {
      const params = delegated?.params() ?? { ok: true as const, value: [] };
      if (!params.ok)
        return {
          ok: true,
          value: [
            {
              topic,
              payload: opId ? record(505, opId, params.error) : record(502, c8yOp, params.error),
              qos: 1,
            },
            clear,
          ],
        };
      return {
        ok: true,
        value: [
          ...(op === "firmware_update" ? firmwareInventory(c.value, entity) : []),
          ...profile,
          {
            topic,
            payload: opId ? record(506, opId, ...params.value) : record(503, c8yOp, ...params.value),
            qos: 1,
          },
          clear,
        ],
      };
    }
    case "failed":
      return {
        ok: true,
        value: [
          { topic, payload: opId ? record(505, opId, reason) : record(502, c8yOp, reason), qos: 1 },
          clear,
        ],
      };
    default:
      return { ok: true, value: [] };
  }
}
