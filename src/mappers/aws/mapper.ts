/** AWS IoT: `te/<entity>/<m|e|a>/<type>` → `aws/td/<entity with :>/<m|e|a>/<type>`, time normalised. */

import { colonEntity } from "../../api/topics.ts";
import { TelemetryMapper } from "../common/telemetry-mapper.ts";
import type { MapperContext } from "../common/types.ts";

export class AwsMapper extends TelemetryMapper {
  constructor(ctx: MapperContext) {
    // An alarm clear is forwarded empty so cloud rules can see it.
    super(ctx, ({ topic: { entity, channel, type }, payload }) => [
      { topic: `aws/td/${colonEntity(entity)}/${channel}/${type}`, payload },
    ]);
  }
}
