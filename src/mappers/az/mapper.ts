/**
 * Azure IoT: every te/ measurement, event and alarm, and service health, → `az/messages/events/`,
 * the payload as sent with `time` normalised (thin-edge's `az.mapper.timestamp_format`, unix
 * seconds by default).
 */
import { AZ_EVENTS } from "../../api/clouds/az.ts";
import type { TimeFormat } from "../common/telemetry.ts";
import { TelemetryMapper } from "../common/telemetry-mapper.ts";
import type { MapperContext } from "../common/types.ts";

export const AZ_TOPIC = AZ_EVENTS;

export class AzMapper extends TelemetryMapper {
  constructor(ctx: MapperContext, timeFormat: TimeFormat = "unix") {
    // An alarm clear has no Azure counterpart: device-to-cloud messages are events, not state.
    super(ctx, (t) => (t.payload === "" ? [] : [{ topic: AZ_EVENTS, payload: t.payload }]), {
      timeFormat,
      health: true,
    });
  }
}
