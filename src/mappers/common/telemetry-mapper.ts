import { EntityCache } from "./entities.ts";
import { inputError } from "./errors.ts";
import { type HealthMessage, readTelemetry, type Telemetry, type TelemetryOptions } from "./telemetry.ts";
import type { InMessage, MapperContext, OutMessage } from "./types.ts";

/**
 * A cloud whose messages are te/ telemetry (and service health) kept as the device sent it,
 * `time` normalised, only routed to another topic: Azure and AWS. `route` is the cloud's whole
 * difference.
 */
export class TelemetryMapper {
  readonly entities: EntityCache;

  constructor(
    protected readonly ctx: MapperContext,
    private readonly route: (t: Telemetry | HealthMessage) => OutMessage[],
    private readonly opts: TelemetryOptions = {},
  ) {
    this.entities = new EntityCache(ctx.mainId);
  }

  translate(msg: InMessage): OutMessage[] {
    const r = readTelemetry(msg, this.entities, this.ctx, this.opts);
    if (!r.ok) return inputError(this.ctx, msg, r.error);
    return r.value ? this.route(r.value) : [];
  }
}
