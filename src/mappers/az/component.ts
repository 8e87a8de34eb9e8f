import type { Component, Context } from "../../component/component.ts";
import { telemetryFilters } from "../common/telemetry.ts";
import { MapperComponent, mapperContext } from "../common/wiring.ts";
import { AzMapper } from "./mapper.ts";

/** `az-mapper`: te/ telemetry → az/ on the local bus; the bridge moves az/ to the cloud. */
export function createAzMapperComponent(ctx: Context): Component {
  const base = mapperContext(ctx, "az-mapper");
  return new MapperComponent("az-mapper", ctx, telemetryFilters(base.root), new AzMapper(base));
}
