/**
 * `c8y_DeviceProfile` ↔ te `device_profile` (TEDGE-FACTS §7). The operation becomes one command
 * whose `operations` are the firmware step, then one software step, then the configuration
 * steps (the agent's workflow runs them in that order; thin-edge's mapper puts configuration
 * before software); the mapper answers each status as
 * thin-edge's does: `121,false` while it runs, the applied parts and `121,true` on success.
 */

import { record, smartRestTopic } from "../../api/clouds/c8y/smartrest.ts";
import type { CommandRequest } from "../../api/commands.ts";
import { isObj, type Obj } from "../../foundation/json.ts";
import type { Entity } from "../common/entities.ts";
import type { MapperContext, OutMessage, Result } from "../common/types.ts";
import { type ProxyUrls, proxyUrl } from "./http/proxy-url.ts";

const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v : undefined);

type Step = { operation: string; "@skip": boolean; payload: Obj };

function step(operation: string, payload: Obj): Step {
  return { operation, "@skip": false, payload };
}

/** The te/ `device_profile` payload of a `c8y_DeviceProfile` operation. */
export function deviceProfileCommand(fragment: unknown, op: Obj, proxy?: ProxyUrls): Result<CommandRequest> {
  // Tenant URLs are fetched through the local Cumulocity proxy, as in every other operation.
  const local = (url: string) => proxyUrl(url, proxy) ?? url;
  const name = text(op.profileName);
  if (!name) return { ok: false, error: "c8y_DeviceProfile needs a 'profileName'" };
  if (!isObj(fragment)) return { ok: false, error: "c8y_DeviceProfile must be an object" };
  const operations: Step[] = [];
  const fw = fragment.firmware;
  if (isObj(fw) && text(fw.name)) {
    const p: Obj = { name: fw.name, version: text(fw.version) ?? "" };
    if (text(fw.url)) p.remoteUrl = local(String(fw.url));
    operations.push(step("firmware_update", p));
  }
  const software = Array.isArray(fragment.software) ? fragment.software : [];
  if (software.length) {
    const byType = new Map<string, Obj[]>();
    for (const m of software) {
      if (!isObj(m) || !text(m.name))
        return { ok: false, error: "each c8y_DeviceProfile software module needs a 'name'" };
      const raw = text(m.version) ?? "";
      const sep = raw.lastIndexOf("::");
      const type = text(m.softwareType) ?? ((sep >= 0 ? raw.slice(sep + 2) : "") || "default");
      const mod: Obj = { name: m.name };
      const version = sep >= 0 ? raw.slice(0, sep) : raw;
      if (version) mod.version = version;
      mod.action = m.action === "delete" ? "remove" : (m.action ?? "install");
      if (text(m.url)) mod.url = local(String(m.url));
      byType.set(type, [...(byType.get(type) ?? []), mod]);
    }
    operations.push(
      step("software_update", { updateList: [...byType].map(([type, modules]) => ({ type, modules })) }),
    );
  }
  const configs = Array.isArray(fragment.configuration) ? fragment.configuration : [];
  for (const c of configs) {
    if (!isObj(c) || !text(c.type) || !text(c.url))
      return { ok: false, error: "each c8y_DeviceProfile configuration needs 'type' and 'url'" };
    operations.push(
      step("config_update", { name: c.name ?? c.type, type: c.type, remoteUrl: c.url, serverUrl: c.url }),
    );
  }
  return { ok: true, value: { op: "device_profile", payload: { name, operations } } };
}

/**
 * What the mapper sends for a `device_profile` status besides 50x: `121,false` when it starts;
 * on success the installed firmware (twin), each configuration (`120`), `121,true`.
 */
export function deviceProfileStatus(cmd: Obj, entity: Entity, ctx: MapperContext): OutMessage[] {
  const topic = smartRestTopic(entity.externalId, ctx.mainId);
  if (cmd.status === "executing") return [{ topic, payload: record(121, "false"), qos: 1 }];
  if (cmd.status !== "successful") return [];
  const out: OutMessage[] = [];
  const steps = Array.isArray(cmd.operations) ? cmd.operations.filter(isObj) : [];
  for (const s of steps) {
    if (s["@skip"] === true || !isObj(s.payload)) continue;
    if (s.operation === "firmware_update")
      out.push({
        topic: `${ctx.root}/${entity.topicId}/twin/firmware`,
        payload: JSON.stringify(s.payload),
        retain: true,
        qos: 1,
      });
    if (s.operation === "config_update")
      out.push({
        topic,
        payload: record(
          120,
          String(s.payload.type ?? ""),
          String(s.payload.serverUrl ?? ""),
          String(s.payload.name ?? ""),
        ),
        qos: 1,
      });
  }
  out.push({ topic, payload: record(121, "true"), qos: 1 });
  return out;
}
