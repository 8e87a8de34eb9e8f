import type { Entity } from "../../api/entity-tree.ts";
import { isEntityType, isTopicText, isValidEntityTopicId } from "../../api/topics.ts";
import type { Bus } from "../../bus/bus.ts";
import {
  type HttpReply,
  type HttpRequest,
  jsonError,
  jsonReply,
  readJson,
} from "../../foundation/http/exchange.ts";
import type { EntityView } from "./entity-view.ts";

export interface EntitiesOptions {
  view: EntityView;
  bus: Bus;
  root: string;
}

function render(e: Entity): Record<string, unknown> {
  return { "@topic-id": e.topicId, ...e.registration };
}

/**
 * `/te/v1/entities`: GET (list, `?parent=` / `?type=` filters), GET one, POST (register),
 * DELETE (deregister with descendants). Writes go through the bus as retained registrations,
 * exactly as an MQTT client would register, so the entity store stays the one owner.
 */
export async function handleEntities(
  req: HttpRequest,
  rest: string,
  opts: EntitiesOptions,
): Promise<HttpReply> {
  let topicId: string;
  try {
    topicId = decodeURIComponent(rest);
  } catch {
    return jsonError(400, "bad percent-encoding in the entity topic id");
  }
  const { view, bus, root } = opts;
  if (topicId === "") {
    if (req.method === "GET") {
      const parent = req.query.get("parent");
      const type = req.query.get("type");
      const list = view
        .list()
        .filter(
          (e) =>
            (parent === null || e.registration["@parent"] === parent) &&
            (type === null || e.registration["@type"] === type),
        )
        .map(render);
      return jsonReply(200, list);
    }
    if (req.method === "POST") return register(req, opts);
    return jsonError(405, `method ${req.method} not allowed on /te/v1/entities`);
  }
  if (!isValidEntityTopicId(topicId))
    return jsonError(400, `'${topicId}' is not an entity topic id (four segments)`);
  const e = view.get(topicId);
  if (req.method === "GET") return e ? jsonReply(200, render(e)) : jsonError(404, `no entity '${topicId}'`);
  if (req.method === "DELETE") {
    if (!e) return jsonError(404, `no entity '${topicId}'`);
    const removed = view.subtree(topicId);
    const entities = removed.map((id) => render(view.get(id)!));
    for (const id of removed.reverse()) await bus.publish(`${root}/${id}`, "", { retain: true, qos: 1 });
    await view.waitFor(() => removed.every((id) => !view.get(id)), 2000);
    return jsonReply(200, entities);
  }
  return jsonError(405, `method ${req.method} not allowed on an entity`);
}

async function register(req: HttpRequest, opts: EntitiesOptions): Promise<HttpReply> {
  let body: unknown;
  try {
    body = await readJson(req);
  } catch (e) {
    return jsonError(400, (e as Error).message);
  }
  if (!body || typeof body !== "object" || Array.isArray(body))
    return jsonError(400, "the body must be a JSON object");
  const { "@topic-id": topicId, ...registration } = body as Record<string, unknown>;
  if (typeof topicId !== "string" || !isValidEntityTopicId(topicId))
    return jsonError(400, "'@topic-id' must be an entity topic id of four segments, e.g. device/child01//");
  if (!isEntityType(registration["@type"]))
    return jsonError(400, "'@type' must be device, child-device or service");
  const bad = Object.entries(registration).find(
    ([k, v]) => !isTopicText(k) || (typeof v === "string" && !isTopicText(v)),
  );
  if (bad) return jsonError(400, `'${bad[0]}' holds NUL, '+', '#' or a lone UTF-16 surrogate`);
  const parent = registration["@parent"];
  if (parent !== undefined && (typeof parent !== "string" || !opts.view.get(parent)))
    return jsonError(400, `'@parent' ${JSON.stringify(parent)} is not a registered entity`);
  if (opts.view.get(topicId)) return jsonError(409, `entity '${topicId}' is already registered`);
  await opts.bus.publish(`${opts.root}/${topicId}`, JSON.stringify(registration), { retain: true, qos: 1 });
  await opts.view.waitFor(() => opts.view.get(topicId) !== undefined, 2000);
  return jsonReply(201, { "@topic-id": topicId });
}
