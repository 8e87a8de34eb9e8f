import { EntityCache } from "./entities.ts";
import { errorMessage } from "./errors.ts";
import { readTelemetry, type Telemetry } from "./telemetry.ts";
import type { InMessage, MapperContext, OutMessage } from "./types.ts";

/**
 * A cloud whose messages are te/ telemetry kept as the device sent it (time normalised), only
 * routed to another topic: Azure and AWS. `route` is the cloud's whole difference.
 */
export class TelemetryMapper {
  readonly entities: EntityCache;

  constructor(
    protected readonly ctx: MapperContext,
    private readonly route: (t: Telemetry) => OutMessage[],
  ) {
    this.entities = new EntityCache(ctx.mainId);
  }

  translate(msg: InMessage): OutMessage[] {
    const r = readTelemetry(msg, this.entities, this.ctx);
    if (!r.ok) return [errorMessage(this.ctx, msg.topic, r.error)];
    return r.value ? this.route(r.value) : [];
  }
}
