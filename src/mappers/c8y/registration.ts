/** Entity registration → SmartREST `101` (child device) / `102` (service), on the parent's topic. */

import { record, smartRestTopic } from "../../api/clouds/c8y/smartrest.ts";
import type { Entity, EntityCache } from "../common/entities.ts";
import type { MapperContext, OutMessage } from "../common/types.ts";

export const DEFAULT_CHILD_TYPE = "thin-edge.io-child";
export const DEFAULT_SERVICE_TYPE = "service";

/** The topic a message about `entity` is sent on to create it: its parent's SmartREST topic. */
function parentTopic(entity: Entity, entities: EntityCache, ctx: MapperContext): string {
  const parent = entity.parent ? entities.get(entity.parent) : undefined;
  return smartRestTopic(parent?.externalId ?? ctx.mainId, ctx.mainId);
}

export function serviceName(entity: Entity): string {
  return entity.name ?? entity.topicId.split("/")[3] ?? entity.externalId;
}

/** `status` is the service's last known health (`up` until one is seen, as thin-edge assumes). */
export function registrationToC8y(
  entity: Entity,
  entities: EntityCache,
  ctx: MapperContext,
  status = "up",
): OutMessage[] {
  const topic = parentTopic(entity, entities, ctx);
  switch (entity.kind) {
    case "child-device":
      return [
        {
          topic,
          payload: record(
            101,
            entity.externalId,
            entity.name ?? entity.externalId,
            entity.type ?? DEFAULT_CHILD_TYPE,
            "false",
          ),
          qos: 1,
        },
      ];
    case "service":
      return [
        {
          topic,
          payload: record(
            102,
            entity.externalId,
            entity.type ?? DEFAULT_SERVICE_TYPE,
            serviceName(entity),
            status,
          ),
          qos: 1,
        },
      ];
    case "device":
      return [];
  }
}
