/** Azure IoT: every te/ measurement, event and alarm → `az/messages/events/`, time normalised. */
import { TelemetryMapper } from "../common/telemetry-mapper.ts";
import type { MapperContext } from "../common/types.ts";

export const AZ_TOPIC = "az/messages/events/";

export class AzMapper extends TelemetryMapper {
  constructor(ctx: MapperContext) {
    // An alarm clear has no Azure counterpart: device-to-cloud messages are events, not state.
    super(ctx, (t) => (t.payload === "" ? [] : [{ topic: AZ_TOPIC, payload: t.payload }]));
  }
}
