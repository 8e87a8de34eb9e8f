/**
 * Cumulocity firmware ↔ `firmware_update`. The operation (`c8y_Firmware` JSON or SmartREST
 * `515,<xid>,<name>,<version>,<url>`) becomes `{"status":"init","name","version","url"[,"sha256"]}`,
 * the payload ledge's agent reads; on success the device's `c8y_Firmware` inventory fragment is
 * set to what was installed, as thin-edge's mapper does. The agent refuses an update without
 * `sha256`; that failure reaches Cumulocity as 505 with the agent's reason.
 */
import type { CommandPayload } from "../../api/payloads.ts";
import { isObj, type Obj } from "../../foundation/json.ts";
import type { Entity } from "../common/entities.ts";
import type { OutMessage, Result } from "../common/types.ts";

const text = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

export interface FirmwareCommand {
  op: "firmware_update";
  payload: Obj;
}

function build(
  name: unknown,
  version: unknown,
  url: unknown,
  sha256: unknown,
  what: string,
): Result<FirmwareCommand> {
  const n = text(name);
  const u = text(url);
  if (!n) return { ok: false, error: `${what} needs a string 'name'` };
  if (!u) return { ok: false, error: `${what} needs a string 'url'` };
  if (version !== undefined && typeof version !== "string")
    return { ok: false, error: `${what}: 'version' must be a string` };
  const payload: Obj = { name: n, version: version ?? "", url: u };
  const sum = text(sha256);
  if (sum) payload.sha256 = sum;
  return { ok: true, value: { op: "firmware_update", payload } };
}

/** The `c8y_Firmware` fragment of a JSON operation. */
export function firmwareFromJson(fragment: unknown): Result<FirmwareCommand> {
  if (!isObj(fragment)) return { ok: false, error: "c8y_Firmware must be an object" };
  return build(fragment.name, fragment.version, fragment.url, fragment.sha256, "c8y_Firmware");
}

/** The fields of SmartREST `515` after the external id: name, version, url. */
export function firmwareFrom515(fields: string[]): Result<FirmwareCommand> {
  if (fields.length < 3) return { ok: false, error: "515 needs name,version,url" };
  return build(fields[0], fields[1], fields[2], undefined, "515");
}

/** A successful `firmware_update` → the entity's `c8y_Firmware` inventory fragment. */
export function firmwareInventory(cmd: CommandPayload, entity: Entity): OutMessage[] {
  const name = text(cmd.name);
  if (!name) return [];
  const fragment = {
    name,
    version: typeof cmd.version === "string" ? cmd.version : "",
    url: typeof cmd.url === "string" ? cmd.url : "",
  };
  return [
    {
      topic: `c8y/inventory/managedObjects/update/${entity.externalId}`,
      payload: JSON.stringify({ c8y_Firmware: fragment }),
      qos: 1,
    },
  ];
}
