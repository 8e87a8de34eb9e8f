import type { Component, Context } from "../../component/component.ts";
import { MapperComponent, mapperContext } from "../common/wiring.ts";
import { parseInterval } from "./availability.ts";
import type { UploadRequest } from "./command-status.ts";
import { HttpSide, proxyUrls, tenantEndpoint } from "./http/side.ts";
import { C8yMapper, c8yFilters } from "./mapper.ts";

/**
 * `c8y-mapper`: te/ ↔ c8y/ on the local bus (the bridge moves c8y/ to and from Cumulocity) and,
 * when a Cumulocity host is set, the HTTP side: uploads, the local proxy, JWT over MQTT.
 */
export function createC8yMapperComponent(ctx: Context): Component {
  const base = mapperContext(ctx, "c8y-mapper");
  const host = ctx.config.get("http.bind.address");
  const endpoint = tenantEndpoint(ctx.config);
  let side: HttpSide | undefined;
  const mapper = new C8yMapper({
    ...base,
    fileTransferUrl: `http://${host.includes(":") ? `[${host}]` : host}:${ctx.config.get("http.bind.port")}`,
    announceAutoRegistration: ctx.config.get("c8y.announce_entities"),
    useOperationId: ctx.config.get("c8y.smartrest.use_operation_id"),
    availabilityS: ctx.config.get("c8y.availability.enable")
      ? parseInterval(ctx.config.get("c8y.availability.interval"))
      : undefined,
    proxy: endpoint ? proxyUrls(ctx.config) : undefined,
    upload: endpoint ? (req: UploadRequest) => side?.upload(req) : undefined,
  });
  const component: MapperComponent = new MapperComponent("c8y-mapper", ctx, c8yFilters(base.root), mapper, {
    start: async () => {
      if (endpoint) {
        side = new HttpSide(ctx, endpoint, (out) => component.emit(out));
        await side.start();
      }
    },
    stop: async () => {
      await side?.stop();
      side = undefined;
    },
  });
  return component;
}
