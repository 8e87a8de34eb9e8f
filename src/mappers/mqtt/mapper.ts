/**
 * Plain MQTT cloud (any broker): te/ telemetry re-published under a prefix, as normalised JSON
 * (`<prefix>/<entity>/<m|e|a>/<type>`), or, with batching on, measurements packed into CBOR
 * frames on `<prefix>/batch` (events and alarms stay JSON: they are rare and wanted at once).
 */
import { mqttBatchTopic } from "../../api/clouds/mqtt.ts";
import type { Batcher } from "../../batch/index.ts";
import { EntityCache } from "../common/entities.ts";
import { errorMessage, inputError } from "../common/errors.ts";
import { readTelemetry } from "../common/telemetry.ts";
import type { InMessage, MapperContext, OutMessage } from "../common/types.ts";

export interface MqttMapperOptions extends MapperContext {
  /** Topic prefix, e.g. `ledge/<device.id>`. */
  prefix: string;
  /** When set, measurements go into CBOR frames. */
  batcher?: Batcher;
}

export class MqttMapper {
  readonly entities: EntityCache;
  private readonly batchTopic: string;

  constructor(private readonly ctx: MqttMapperOptions) {
    this.entities = new EntityCache(ctx.mainId);
    this.batchTopic = mqttBatchTopic(ctx.prefix);
  }

  translate(msg: InMessage): OutMessage[] {
    const r = readTelemetry(msg, this.entities, this.ctx);
    if (!r.ok) return inputError(this.ctx, msg, r.error);
    if (!r.value || !("measurement" in r.value)) return [];
    const { entity, channel, type } = r.value.topic;
    const b = this.ctx.batcher;
    const m = r.value.measurement;
    if (b && m) {
      try {
        return this.frames(b.appendMeasurement(entity, type, m, this.ctx.now()));
      } catch (e) {
        return [errorMessage(this.ctx, msg.topic, (e as Error).message)];
      }
    }
    return [{ topic: `${this.ctx.prefix}/${entity}/${channel}/${type}`, payload: r.value.payload }];
  }

  /** A frame due by age; the wiring calls it at `nextDeadline()`. */
  poll(now: number): OutMessage[] {
    const f = this.ctx.batcher?.poll(now);
    return f ? this.frames([f]) : [];
  }

  nextDeadline(): number | undefined {
    return this.ctx.batcher?.nextDeadline();
  }

  flush(): OutMessage[] {
    const f = this.ctx.batcher?.flush();
    return f ? this.frames([f]) : [];
  }

  // Frames are not released back to the batcher: the broker may still hold them for QoS 1 redelivery.
  private frames(frames: readonly Uint8Array[]): OutMessage[] {
    return frames.map((payload) => ({ topic: this.batchTopic, payload, qos: 1 }));
  }
}
