/**
 * Inbound Cumulocity operations → te/ command requests. JSON operations arrive on
 * `c8y/devicecontrol/notifications`; a few SmartREST templates (`510` restart, `528` software,
 * `515` firmware) on `c8y/s/ds`.
 * Each becomes a retained `te/<entity>/cmd/<op>/c8y-mapper-<op-id>` with `{"status":"init",...}`.
 */

import { isObj, type Obj } from "../../foundation/json.ts";
import type { EntityCache } from "../common/entities.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import { deviceProfileCommand } from "./device-profile.ts";
import { firmwareFrom515, firmwareFromJson } from "./firmware.ts";
import { parseRecord } from "./smartrest.ts";

export const OPERATIONS_TOPIC = "c8y/devicecontrol/notifications";
export const SMARTREST_DOWN_TOPIC = "c8y/s/ds";
export const CMD_ID_PREFIX = "c8y-mapper-";

export interface OperationContext extends MapperContext {
  /** Base URL of ledge's file transfer service, e.g. `http://127.0.0.1:8000`. */
  fileTransferUrl: string;
}

interface Built {
  op: string;
  payload: Obj;
}

type Builder = (fragment: unknown, fileUrl: (op: string, type: string) => string, op: Obj) => Result<Built>;

function softwareUpdate(fragment: unknown): Result<Built> {
  if (!Array.isArray(fragment)) return { ok: false, error: "c8y_SoftwareUpdate must be an array of modules" };
  const byType = new Map<string, Obj[]>();
  for (const m of fragment) {
    if (!isObj(m) || typeof m.name !== "string")
      return { ok: false, error: "each c8y_SoftwareUpdate module needs a string 'name'" };
    // Cumulocity carries the plugin type in the version: `1.0.0::debian`.
    const raw = typeof m.version === "string" ? m.version : "";
    const sep = raw.lastIndexOf("::");
    const version = sep < 0 ? raw : raw.slice(0, sep);
    const type = (sep < 0 ? "" : raw.slice(sep + 2)) || "default";
    const action = m.action === "delete" ? "remove" : m.action;
    if (action !== "install" && action !== "remove")
      return {
        ok: false,
        error: `module '${m.name}': action must be install or delete, got ${JSON.stringify(m.action)}`,
      };
    const mod: Obj = { name: m.name };
    if (version) mod.version = version;
    if (typeof m.url === "string" && m.url) mod.url = m.url;
    mod.action = action;
    const list = byType.get(type) ?? [];
    list.push(mod);
    byType.set(type, list);
  }
  return {
    ok: true,
    value: {
      op: "software_update",
      payload: { updateList: [...byType].map(([type, modules]) => ({ type, modules })) },
    },
  };
}

function needType(fragment: unknown, name: string): Result<Obj & { type: string }> {
  if (!isObj(fragment) || typeof fragment.type !== "string" || !fragment.type)
    return { ok: false, error: `${name} needs a string 'type'` };
  return { ok: true, value: fragment as Obj & { type: string } };
}

const BUILDERS: Record<string, Builder> = {
  c8y_DeviceProfile: (f, _url, op) => deviceProfileCommand(f, op),
  c8y_Restart: () => ({ ok: true, value: { op: "restart", payload: {} } }),
  c8y_SoftwareUpdate: softwareUpdate,
  c8y_Firmware: firmwareFromJson,
  c8y_UploadConfigFile: (f, url) => {
    const v = needType(f, "c8y_UploadConfigFile");
    if (!v.ok) return v;
    return {
      ok: true,
      value: {
        op: "config_snapshot",
        payload: { tedgeUrl: url("config_snapshot", v.value.type), type: v.value.type },
      },
    };
  },
  c8y_DownloadConfigFile: (f, url) => {
    const v = needType(f, "c8y_DownloadConfigFile");
    if (!v.ok) return v;
    if (typeof v.value.url !== "string")
      return { ok: false, error: "c8y_DownloadConfigFile needs a string 'url'" };
    return {
      ok: true,
      value: {
        op: "config_update",
        payload: { tedgeUrl: url("config_update", v.value.type), remoteUrl: v.value.url, type: v.value.type },
      },
    };
  },
  c8y_LogfileRequest: (f, url) => {
    if (!isObj(f) || typeof f.logFile !== "string" || !f.logFile)
      return { ok: false, error: "c8y_LogfileRequest needs a string 'logFile'" };
    const payload: Obj = { tedgeUrl: url("log_upload", f.logFile), type: f.logFile };
    if (f.dateFrom !== undefined) payload.dateFrom = f.dateFrom;
    if (f.dateTo !== undefined) payload.dateTo = f.dateTo;
    if (f.searchText !== undefined) payload.searchText = f.searchText;
    if (f.maximumLines !== undefined) payload.lines = f.maximumLines;
    return { ok: true, value: { op: "log_upload", payload } };
  },
};

function commandMessage(
  ctx: OperationContext,
  entityTopicId: string,
  xid: string,
  cmdId: string,
  build: (url: (op: string, type: string) => string) => Result<Built>,
): Result<OutMessage[]> {
  const url = (op: string, type: string) =>
    `${ctx.fileTransferUrl}/te/v1/files/${xid}/${op}/${type}-${cmdId}`;
  const b = build(url);
  if (!b.ok) return b;
  return {
    ok: true,
    value: [
      {
        topic: `${ctx.root}/${entityTopicId}/cmd/${b.value.op}/${cmdId}`,
        payload: JSON.stringify({ status: "init", ...b.value.payload }),
        retain: true,
        qos: 1,
      },
    ],
  };
}

/** One JSON operation from `c8y/devicecontrol/notifications`. */
export function operationToTe(
  json: unknown,
  entities: EntityCache,
  ctx: OperationContext,
): Result<OutMessage[]> {
  if (!isObj(json)) return { ok: false, error: "an operation must be a JSON object" };
  const id = typeof json.id === "number" ? String(json.id) : json.id;
  if (typeof id !== "string" || !/^[A-Za-z0-9_-]+$/.test(id))
    return { ok: false, error: "an operation needs an 'id' of letters, digits, - or _" };
  const src = json.externalSource;
  const xid = isObj(src) && typeof src.externalId === "string" ? src.externalId : ctx.mainId;
  const entity = entities.byExternalId(xid);
  if (!entity) return { ok: false, error: `operation ${id} targets unknown device '${xid}'` };
  const name = Object.keys(BUILDERS).find((k) => k in json);
  if (!name)
    return {
      ok: false,
      error: `operation ${id} has no supported fragment (${Object.keys(BUILDERS).join(", ")})`,
    };
  return commandMessage(ctx, entity.topicId, xid, `${CMD_ID_PREFIX}${id}`, (url) =>
    BUILDERS[name]!(json[name], url, json),
  );
}

/** `528,<xid>,<name>,<version>,<url>,<action>,...`: modules in groups of four, as c8y_SoftwareUpdate. */
function softwareUpdate528(fields: string[]): Result<Built> {
  if (fields.length === 0 || fields.length % 4 !== 0)
    return { ok: false, error: "528 needs name,version,url,action groups of four fields" };
  const modules: Obj[] = [];
  for (let i = 0; i < fields.length; i += 4)
    modules.push({ name: fields[i], version: fields[i + 1], url: fields[i + 2], action: fields[i + 3] });
  return softwareUpdate(modules);
}

const SMARTREST: Record<string, (fields: string[]) => Result<Built>> = {
  "510": () => ({ ok: true, value: { op: "restart", payload: {} } }),
  "528": softwareUpdate528,
  "515": firmwareFrom515,
};

/** The SmartREST operation templates the mapper converts itself (others may be operation files'). */
export const SMARTREST_TEMPLATES: ReadonlySet<string> = new Set(Object.keys(SMARTREST));

/** The JSON operation fragments the mapper converts itself. */
export const JSON_FRAGMENTS: readonly string[] = Object.keys(BUILDERS);

/**
 * Command ids for SmartREST operations, which carry none: the time, numbered within a millisecond
 * across messages too, so a second operation never overwrites the first one's retained command.
 */
export class SmartRestIds {
  private at = Number.NaN;
  private n = 0;

  next(now: number): string {
    if (now !== this.at) {
      this.at = now;
      this.n = 0;
    }
    return `${CMD_ID_PREFIX}sr-${now}${this.n++ ? `-${this.n}` : ""}`;
  }
}

/**
 * SmartREST operation templates on `c8y/s/ds` (one record per line): `510,<xid>` restart,
 * `528,<xid>,...` software update and `515,<xid>,<name>,<version>,<url>` firmware. Other templates
 * are ignored (operations arrive as JSON).
 */
export function smartRestToTe(
  text: string,
  entities: EntityCache,
  ctx: OperationContext,
  ids = new SmartRestIds(),
): Result<OutMessage[]> {
  const out: OutMessage[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [template = "", xid, ...fields] = parseRecord(line.trim());
    const build = SMARTREST[template];
    if (!build) continue;
    const entity = xid ? entities.byExternalId(xid) : undefined;
    if (!entity) return { ok: false, error: `${template} targets unknown device '${xid ?? ""}'` };
    // No operation id in SmartREST: the status goes back with the 501/503/502 templates instead.
    const cmdId = ids.next(ctx.now());
    const r = commandMessage(ctx, entity.topicId, entity.externalId, cmdId, () => build(fields));
    if (!r.ok) return r;
    out.push(...r.value);
  }
  return { ok: true, value: out };
}
