import type { Component, Context } from "../../component/component.ts";
import { MapperComponent, mapperContext } from "../common/wiring.ts";
import { C8yMapper, c8yFilters } from "./mapper.ts";

/** `c8y-mapper`: te/ ↔ c8y/ on the local bus; the bridge moves c8y/ to and from Cumulocity. */
export function createC8yMapperComponent(ctx: Context): Component {
  const base = mapperContext(ctx, "c8y-mapper");
  const host = ctx.config.get("http.bind.address");
  const mapper = new C8yMapper({
    ...base,
    fileTransferUrl: `http://${host.includes(":") ? `[${host}]` : host}:${ctx.config.get("http.bind.port")}`,
    announceAutoRegistration: ctx.config.get("c8y.announce_entities"),
  });
  return new MapperComponent("c8y-mapper", ctx, c8yFilters(base.root), mapper);
}
