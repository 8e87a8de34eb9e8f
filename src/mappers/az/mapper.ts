/** Azure IoT: every te/ measurement, event and alarm → `az/messages/events/`, time normalised. */
import { EntityCache } from "../common/entities.ts";
import { errorMessage } from "../common/errors.ts";
import { readTelemetry } from "../common/telemetry.ts";
import type { InMessage, MapperContext, OutMessage } from "../common/types.ts";

export const AZ_TOPIC = "az/messages/events/";

export class AzMapper {
  readonly entities: EntityCache;
  constructor(private readonly ctx: MapperContext) {
    this.entities = new EntityCache(ctx.mainId);
  }

  translate(msg: InMessage): OutMessage[] {
    const r = readTelemetry(msg, this.entities, this.ctx);
    if (!r.ok) return [errorMessage(this.ctx, msg.topic, r.error)];
    // An alarm clear has no Azure counterpart: device-to-cloud messages are events, not state.
    if (!r.value || r.value.payload === "") return [];
    return [{ topic: AZ_TOPIC, payload: r.value.payload }];
  }
}
