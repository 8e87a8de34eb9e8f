import { mqttPrefix } from "../../api/clouds/mqtt.ts";
import type { Component, Context } from "../../component/component.ts";
import { telemetryFilters } from "../common/telemetry.ts";
import { MapperComponent, mapperContext } from "../common/wiring.ts";
import { MqttMapper } from "./mapper.ts";

/** `mqtt-mapper`: te/ telemetry → `<mqtt.cloud.prefix>/...` (JSON or CBOR frames) on the local bus. */
export async function createMqttMapperComponent(ctx: Context): Promise<Component> {
  const base = mapperContext(ctx, "mqtt-mapper");
  const prefix = mqttPrefix(ctx.config.get("mqtt.cloud.prefix"), base.mainId);
  let batcher: import("../../batch/index.ts").Batcher | undefined;
  if (ctx.config.get("mqtt.batch.enable")) {
    // Loaded only when on: the batching core and cbor-x cost memory a JSON-only gateway need not pay.
    const { Batcher } = await import("../../batch/index.ts");
    batcher = new Batcher({
      maxBytes: ctx.config.get("mqtt.batch.max_bytes"),
      maxCount: ctx.config.get("mqtt.batch.max_count"),
      maxAgeMs: ctx.config.get("mqtt.batch.max_age_ms"),
    });
  }
  const mapper = new MqttMapper({ ...base, prefix, batcher });
  return new MapperComponent("mqtt-mapper", ctx, telemetryFilters(base.root), mapper);
}
