import type { Component, Context } from "../../component/component.ts";
import { type TimeFormat, telemetryFilters } from "../common/telemetry.ts";
import { MapperComponent, mapperContext } from "../common/wiring.ts";
import { AzMapper } from "./mapper.ts";

/** `az-mapper`: te/ telemetry → az/ on the local bus; the bridge moves az/ to the cloud. */
export function createAzMapperComponent(ctx: Context): Component {
  const base = mapperContext(ctx, "az-mapper");
  return new MapperComponent(
    "az-mapper",
    ctx,
    telemetryFilters(base.root, { health: true }),
    new AzMapper(base, ctx.config.get("az.mapper.timestamp_format") as TimeFormat),
  );
}
