/**
 * AWS IoT: `te/<entity>/<m|e|a>/<type>` → `aws/td/<entity with :>/<m|e|a>/<type>`, and service
 * health → `aws/td/<entity with :>/status/health` unchanged; `time` normalised (thin-edge's
 * `aws.mapper.timestamp_format`, unix seconds by default).
 */
import { awsTelemetryTopic } from "../../api/clouds/aws.ts";
import { colonEntity } from "../../api/topics.ts";
import type { TimeFormat } from "../common/telemetry.ts";
import { TelemetryMapper } from "../common/telemetry-mapper.ts";
import type { MapperContext } from "../common/types.ts";

export class AwsMapper extends TelemetryMapper {
  constructor(ctx: MapperContext, timeFormat: TimeFormat = "unix") {
    // An alarm clear is forwarded empty so cloud rules can see it.
    super(
      ctx,
      ({ topic: { entity, channel, type }, payload }) => [
        { topic: awsTelemetryTopic(colonEntity(entity), channel, type), payload },
      ],
      { timeFormat, health: true },
    );
  }
}
