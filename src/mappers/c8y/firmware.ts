/**
 * Cumulocity firmware ↔ `firmware_update`, as thin-edge's mapper does it. The operation
 * (`c8y_Firmware` JSON or SmartREST `515,<xid>,<name>,<version>,<url>`) becomes
 * `{"status":"init","name","version","remoteUrl"[,"tedgeUrl"]}` (`tedgeUrl`: the local proxy for
 * tenant-hosted files); a successful update is published as the retained twin
 * `te/<entity>/twin/firmware` `{"name","version","url"}`, which the twin mapping turns into the
 * `c8y_Firmware` inventory fragment.
 */
import type { CommandMessage, CommandPayloads } from "../../api/commands.ts";
import { isObj, type Obj } from "../../foundation/json.ts";
import type { Entity } from "../common/entities.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import { type ProxyUrls, proxyUrl } from "./http/proxy-url.ts";

const text = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

export interface FirmwareCommand {
  op: "firmware_update";
  payload: CommandPayloads["firmware_update"];
}

function build(
  name: unknown,
  version: unknown,
  url: unknown,
  sha256: unknown,
  what: string,
  proxy: ProxyUrls | undefined,
): Result<FirmwareCommand> {
  const n = text(name);
  const u = text(url);
  if (!n) return { ok: false, error: `${what} needs a string 'name'` };
  if (!u) return { ok: false, error: `${what} needs a string 'url'` };
  if (version !== undefined && typeof version !== "string")
    return { ok: false, error: `${what}: 'version' must be a string` };
  const payload: CommandPayloads["firmware_update"] = {
    tedgeUrl: proxyUrl(u, proxy) ?? u,
    remoteUrl: u,
    name: n,
    version: version ?? "",
  };
  const sum = text(sha256);
  if (sum) payload.sha256 = sum;
  return { ok: true, value: { op: "firmware_update", payload } };
}

/** The `c8y_Firmware` fragment of a JSON operation. */
export function firmwareFromJson(fragment: unknown, proxy?: ProxyUrls): Result<FirmwareCommand> {
  if (!isObj(fragment)) return { ok: false, error: "c8y_Firmware must be an object" };
  return build(fragment.name, fragment.version, fragment.url, fragment.sha256, "c8y_Firmware", proxy);
}

/** The fields of SmartREST `515` after the external id: name, version, url. */
export function firmwareFrom515(fields: string[], proxy?: ProxyUrls): Result<FirmwareCommand> {
  if (fields.length < 3) return { ok: false, error: "515 needs name,version,url" };
  return build(fields[0], fields[1], fields[2], undefined, "515", proxy);
}

/** A successful `firmware_update` → the retained `twin/firmware` thin-edge publishes. */
export function firmwareTwin(
  cmd: Partial<CommandMessage<"firmware_update">>,
  entity: Entity,
  ctx: MapperContext,
): OutMessage[] {
  const name = text(cmd.name);
  if (!name) return [];
  const twin = {
    name,
    version: typeof cmd.version === "string" ? cmd.version : "",
    url: text(cmd.remoteUrl) ?? text((cmd as Obj).url) ?? "",
  };
  return [
    {
      topic: `${ctx.root}/${entity.topicId}/twin/firmware`,
      payload: JSON.stringify(twin),
      retain: true,
      qos: 1,
    },
  ];
}
