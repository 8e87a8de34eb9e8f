import type { Component, Context } from "../../component/component.ts";
import { type TimeFormat, telemetryFilters } from "../common/telemetry.ts";
import { MapperComponent, mapperContext } from "../common/wiring.ts";
import { AwsMapper } from "./mapper.ts";

/** `aws-mapper`: te/ telemetry → aws/ on the local bus; the bridge moves aws/ to the cloud. */
export function createAwsMapperComponent(ctx: Context): Component {
  const base = mapperContext(ctx, "aws-mapper");
  return new MapperComponent(
    "aws-mapper",
    ctx,
    telemetryFilters(base.root, { health: true }),
    new AwsMapper(base, ctx.config.get("aws.mapper.timestamp_format") as TimeFormat),
  );
}
