/** AWS IoT: `te/<entity>/<m|e|a>/<type>` → `aws/td/<entity with :>/<m|e|a>/<type>`, time normalised. */
import { EntityCache } from "../common/entities.ts";
import { errorMessage } from "../common/errors.ts";
import { colonEntity, readTelemetry } from "../common/telemetry.ts";
import type { InMessage, MapperContext, OutMessage } from "../common/types.ts";

export class AwsMapper {
  readonly entities: EntityCache;
  constructor(private readonly ctx: MapperContext) {
    this.entities = new EntityCache(ctx.mainId);
  }

  translate(msg: InMessage): OutMessage[] {
    const r = readTelemetry(msg, this.entities, this.ctx);
    if (!r.ok) return [errorMessage(this.ctx, msg.topic, r.error)];
    if (!r.value) return [];
    const { entity, channel, type } = r.value.topic;
    // An alarm clear is forwarded empty so cloud rules can see it.
    return [{ topic: `aws/td/${colonEntity(entity)}/${channel}/${type}`, payload: r.value.payload }];
  }
}
