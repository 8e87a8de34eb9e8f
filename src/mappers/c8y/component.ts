import type { Component, Context } from "../../component/component.ts";
import { MapperComponent, mapperContext } from "../common/wiring.ts";
import { parseInterval } from "./availability.ts";
import { failed, type UploadRequest } from "./command-status.ts";
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
  let sideError = "";
  const upload = (req: UploadRequest) => {
    if (side) return side.upload(req);
    component.emit([
      failed(req.ref, `cannot upload: the Cumulocity HTTP side is not running (${sideError})`),
      { topic: req.cmdTopic, payload: "", retain: true, qos: 1 },
    ]);
  };
  const mapper = new C8yMapper({
    ...base,
    fileTransferUrl: `http://${host.includes(":") ? `[${host}]` : host}:${ctx.config.get("http.bind.port")}`,
    announceAutoRegistration: ctx.config.get("c8y.announce_entities"),
    useOperationId: ctx.config.get("c8y.smartrest.use_operation_id"),
    availabilityS: ctx.config.get("c8y.availability.enable")
      ? parseInterval(ctx.config.get("c8y.availability.interval"))
      : undefined,
    proxy: endpoint ? proxyUrls(ctx.config) : undefined,
    upload: endpoint ? upload : undefined,
  });
  const component: MapperComponent = new MapperComponent("c8y-mapper", ctx, c8yFilters(base.root), mapper, {
    start: async () => {
      if (!endpoint) return;
      // The mapping must not depend on it: without the HTTP side uploads fail with the reason.
      try {
        const s = new HttpSide(ctx, endpoint, (out) => component.emit(out));
        await s.start();
        side = s;
      } catch (e) {
        sideError = (e as Error).message;
        ctx.log.error(`the Cumulocity HTTP side cannot start: ${sideError}`);
      }
    },
    stop: async () => {
      await side?.stop();
      side = undefined;
    },
  });
  return component;
}
