/**
 * Inbound Cumulocity operations → te/ command requests. JSON operations arrive on
 * `c8y/devicecontrol/notifications`; a few SmartREST templates (`510` restart, `528` software,
 * `515` firmware) on `c8y/s/ds`.
 * Each becomes a retained `te/<entity>/cmd/<op>/c8y-mapper-<op-id>` with `{"status":"init",...}`.
 * An operation the mapper cannot turn into a command (unknown, unsupported by the entity, bad
 * parameters) is failed in Cumulocity with the reason (`504` + `505,<id>,<reason>`), never left pending.
 */

import { parseRecord, record } from "../../api/clouds/c8y/smartrest.ts";
import { OPERATIONS, SMARTREST_DOWN, SMARTREST_UP, smartRestTopic } from "../../api/clouds/c8y.ts";
import type { CommandRequest, SoftwareModule } from "../../api/commands.ts";
import { isObj, type Obj } from "../../foundation/json.ts";
import type { EntityCache } from "../common/entities.ts";
import { errorMessage } from "../common/errors.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import { deviceProfileCommand } from "./device-profile.ts";
import { firmwareFrom515, firmwareFromJson } from "./firmware.ts";
import { type ProxyUrls, proxyUrl } from "./http/proxy-url.ts";

export const CMD_ID_PREFIX = "c8y-mapper-";

export interface OperationContext extends MapperContext {
  /** Base URL of ledge's file transfer service, e.g. `http://127.0.0.1:8000`. */
  fileTransferUrl: string;
  /** The local Cumulocity proxy, when the HTTP side runs: tenant URLs in commands point at it. */
  proxy?: ProxyUrls;
  /** `c8y.smartrest.use_operation_id`: report by operation id (504/505/506) where there is one. */
  useOperationId: boolean;
}

type Built = CommandRequest;

interface BuildContext {
  fileUrl: (op: string, type: string) => string;
  proxy?: ProxyUrls;
  /** The whole operation (c8y_DeviceProfile reads `profileName` beside its fragment). */
  op?: Obj;
}

type Builder = (fragment: unknown, b: BuildContext) => Result<Built>;

function softwareUpdate(fragment: unknown, b?: BuildContext): Result<Built> {
  if (!Array.isArray(fragment)) return { ok: false, error: "c8y_SoftwareUpdate must be an array of modules" };
  const byType = new Map<string, SoftwareModule[]>();
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
    // Key order as thin-edge writes it: name, version, url, action.
    const ordered: SoftwareModule = {
      name: m.name,
      ...(version ? { version } : {}),
      ...(typeof m.url === "string" && m.url ? { url: proxyUrl(m.url, b?.proxy) ?? m.url } : {}),
      action,
    };
    const list = byType.get(type) ?? [];
    list.push(ordered);
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
  c8y_DeviceProfile: (f, b) => deviceProfileCommand(f, b.op ?? {}, b.proxy),
  c8y_Restart: () => ({ ok: true, value: { op: "restart", payload: {} } }),
  c8y_SoftwareUpdate: softwareUpdate,
  c8y_Firmware: (f, b) => firmwareFromJson(f, b.proxy),
  c8y_UploadConfigFile: (f, { fileUrl: url }) => {
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
  c8y_DownloadConfigFile: (f, { proxy }) => {
    const v = needType(f, "c8y_DownloadConfigFile");
    if (!v.ok) return v;
    if (typeof v.value.url !== "string")
      return { ok: false, error: "c8y_DownloadConfigFile needs a string 'url'" };
    // thin-edge: `remoteUrl` is what the agent fetches (the proxy for tenant files), `serverUrl` the original.
    const local = proxyUrl(v.value.url, proxy);
    return {
      ok: true,
      value: {
        op: "config_update",
        payload: {
          remoteUrl: local ?? v.value.url,
          serverUrl: v.value.url,
          type: v.value.type,
        },
      },
    };
  },
  c8y_LogfileRequest: (f, { fileUrl: url }) => {
    if (!isObj(f) || typeof f.logFile !== "string" || !f.logFile)
      return { ok: false, error: "c8y_LogfileRequest needs a string 'logFile'" };
    const payload: Extract<Built, { op: "log_upload" }>["payload"] = {
      tedgeUrl: url("log_upload", f.logFile),
      type: f.logFile,
    };
    if (typeof f.dateFrom === "string") payload.dateFrom = rfc3339Offset(f.dateFrom);
    if (typeof f.dateTo === "string") payload.dateTo = rfc3339Offset(f.dateTo);
    if (typeof f.searchText === "string") payload.searchText = f.searchText;
    if (typeof f.maximumLines === "number") payload.lines = f.maximumLines;
    return { ok: true, value: { op: "log_upload", payload } };
  },
};

/** Cumulocity writes offsets as `+0100`; thin-edge hands RFC 3339's `+01:00` to the agent. */
export function rfc3339Offset(time: string): string {
  return time.replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
}

/** The te/ operation each Cumulocity fragment becomes (what the entity must have announced). */
const TE_OP: Readonly<Record<string, string>> = {
  c8y_Restart: "restart",
  c8y_SoftwareUpdate: "software_update",
  c8y_Firmware: "firmware_update",
  c8y_UploadConfigFile: "config_snapshot",
  c8y_DownloadConfigFile: "config_update",
  c8y_LogfileRequest: "log_upload",
  c8y_DeviceProfile: "device_profile",
};

/**
 * `504,<id>` then `505,<id>,<reason>`: how thin-edge fails an operation it cannot start. By id, so
 * the main device's topic serves every entity.
 */
export function failOperation(id: string, reason: string): OutMessage[] {
  return [
    { topic: SMARTREST_UP, payload: record(504, id), qos: 1 },
    { topic: SMARTREST_UP, payload: record(505, id, reason), qos: 1 },
  ];
}

function commandMessage(
  ctx: OperationContext,
  entityTopicId: string,
  xid: string,
  cmdId: string,
  build: (b: BuildContext) => Result<Built>,
): Result<OutMessage[]> {
  // thin-edge: a config type may hold `/`; in the file name it becomes `:`.
  const fileUrl = (op: string, type: string) =>
    `${ctx.fileTransferUrl}/te/v1/files/${xid}/${op}/${type.replaceAll("/", ":")}-${cmdId}`;
  const b = build({ fileUrl, proxy: ctx.proxy });
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

/**
 * One JSON operation from `c8y/devicecontrol/notifications`. `supports(topicId, op)` says whether
 * the entity announced the te/ operation. An operation that cannot become a command is failed in
 * Cumulocity (and reported on te/errors); one without a usable id can only be reported.
 */
export function operationToTe(
  json: unknown,
  entities: EntityCache,
  ctx: OperationContext,
  supports: (topicId: string, op: string) => boolean = () => true,
): Result<OutMessage[]> {
  if (!isObj(json)) return { ok: false, error: "an operation must be a JSON object" };
  const id = typeof json.id === "number" ? String(json.id) : json.id;
  if (typeof id !== "string" || !/^[A-Za-z0-9_-]+$/.test(id))
    return { ok: false, error: "an operation needs an 'id' of letters, digits, - or _" };
  const fail = (reason: string): Result<OutMessage[]> => ({
    ok: true,
    value: [...failOperation(id, reason), errorMessage(ctx, OPERATIONS, `operation ${id}: ${reason}`)],
  });
  const src = json.externalSource;
  const xid = isObj(src) && typeof src.externalId === "string" ? src.externalId : ctx.mainId;
  const entity = entities.byExternalId(xid);
  if (!entity) return fail(`unknown device '${xid}'`);
  const name = Object.keys(BUILDERS).find((k) => k in json);
  if (!name) {
    const fragments = Object.keys(json).filter((k) => /^c8y_/.test(k));
    return fail(`no handler for ${fragments.join(", ") || "this operation"} on '${xid}'`);
  }
  const teOp = TE_OP[name];
  if (teOp && !supports(entity.topicId, teOp)) return fail(`'${xid}' does not support ${name}`);
  const r = commandMessage(ctx, entity.topicId, xid, `${CMD_ID_PREFIX}${id}`, (b) =>
    BUILDERS[name]!(json[name], { ...b, op: json }),
  );
  return r.ok ? r : fail(r.error);
}

/** `528,<xid>,<name>,<version>,<url>,<action>,...`: modules in groups of four, as c8y_SoftwareUpdate. */
function softwareUpdate528(fields: string[], b: BuildContext): Result<Built> {
  if (fields.length === 0 || fields.length % 4 !== 0)
    return { ok: false, error: "528 needs name,version,url,action groups of four fields" };
  const modules: Obj[] = [];
  for (let i = 0; i < fields.length; i += 4)
    modules.push({ name: fields[i], version: fields[i + 1], url: fields[i + 2], action: fields[i + 3] });
  return softwareUpdate(modules, b);
}

const SMARTREST: Record<
  string,
  { name: string; build: (fields: string[], b: BuildContext) => Result<Built> }
> = {
  "510": { name: "c8y_Restart", build: () => ({ ok: true, value: { op: "restart", payload: {} } }) },
  "528": { name: "c8y_SoftwareUpdate", build: (f, b) => softwareUpdate528(f, b) },
  "515": { name: "c8y_Firmware", build: (f, b) => firmwareFrom515(f, b.proxy) },
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
 * are ignored (operations arrive as JSON). Each line stands alone: a bad one is failed (`501` +
 * `502,<op>,<reason>`, having no id) and reported, and the good ones around it still run.
 */
export function smartRestToTe(
  text: string,
  entities: EntityCache,
  ctx: OperationContext,
  ids = new SmartRestIds(),
): OutMessage[] {
  const out: OutMessage[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [template = "", xid, ...fields] = parseRecord(line.trim());
    const t = SMARTREST[template];
    if (!t) continue;
    const entity = xid ? entities.byExternalId(xid) : undefined;
    // No operation id in SmartREST: the status goes back with the 501/503/502 templates instead.
    const r = entity
      ? commandMessage(ctx, entity.topicId, entity.externalId, ids.next(ctx.now()), (b) => t.build(fields, b))
      : ({ ok: false, error: `unknown device '${xid ?? ""}'` } as const);
    if (r.ok) {
      out.push(...r.value);
      continue;
    }
    const topic = smartRestTopic(entity?.externalId ?? ctx.mainId, ctx.mainId);
    out.push(
      { topic, payload: record(501, t.name), qos: 1 },
      { topic, payload: record(502, t.name, r.error), qos: 1 },
      errorMessage(ctx, SMARTREST_DOWN, `${template}: ${r.error}`),
    );
  }
  return out;
}
