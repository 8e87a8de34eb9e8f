/**
 * thin-edge's Cumulocity steps `into-c8y-measurements`, `into-c8y-events` and `into-c8y-alarms`
 * (TEDGE-FACTS §10.4, §10.5). The translation is the c8y mapper's own (`src/api/clouds/c8y/`), so
 * a flow and the mapper give the same Cumulocity message for the same te/ message. The entity
 * comes from its registration data in `context.mapper` under its topic id (`device/child//`:
 * `@id`, `@type`, ...); a message whose entity is not there yields nothing, as in thin-edge
 * (`cache-early-messages` ahead of these steps holds such messages until it is). Measurement units
 * come from the `<root>/<entity>/m/<type>/meta` payload `update-context` stored.
 * Config: `topic_root` (default `te`), `c8y_prefix` (default `c8y`).
 */
import { parseChannel } from "../../api/channels.ts";
import { alarmToC8y } from "../../api/clouds/c8y/alarm.ts";
import { eventToC8y } from "../../api/clouds/c8y/event.ts";
import { measurementToC8y, parseUnits } from "../../api/clouds/c8y/measurement.ts";
import type { OutMessage as C8yOut, C8yTelemetryContext, Result } from "../../api/clouds/c8y/types.ts";
import { C8Y_PREFIX } from "../../api/clouds/c8y.ts";
import { parseJson } from "../../api/payloads.ts";
import { MAIN_DEVICE } from "../../api/topics.ts";
import type { KeyValue, OutMessage, Step } from "../types.ts";
import { type Config, str } from "./common.ts";

type Kind = "measurement" | "event" | "alarm";

/** The `@id` of a context record, or undefined when the key holds no entity. */
function externalId(v: unknown): string | undefined {
  const id = (v as { "@id"?: unknown } | null)?.["@id"];
  return typeof id === "string" && id !== "" ? id : undefined;
}

function c8yStep(kind: Kind, c: Config): Step {
  const root = str(c, "topic_root", "te");
  const prefix = str(c, "c8y_prefix", C8Y_PREFIX);
  const topicOf =
    prefix === C8Y_PREFIX ? (t: string) => t : (t: string) => `${prefix}${t.slice(C8Y_PREFIX.length)}`;
  const translate = (
    kv: KeyValue,
    entity: string,
    type: string,
    payload: Uint8Array,
    source: { externalId: string },
    ctx: C8yTelemetryContext,
  ): Result<C8yOut[]> => {
    if (kind === "measurement") {
      const j = parseJson(Buffer.from(payload));
      if (!j.ok) return j;
      const meta = kv.get(`${root}/${entity}/m/${type}/meta`);
      const units = meta === null ? undefined : parseUnits(meta);
      return measurementToC8y(j.value, source, type, units?.ok ? units.value : undefined, ctx);
    }
    // An empty payload: an alarm cleared, an event with nothing but its type.
    const j =
      payload.byteLength === 0 ? { ok: true as const, value: undefined } : parseJson(Buffer.from(payload));
    if (!j.ok) return j;
    return (kind === "event" ? eventToC8y : alarmToC8y)(j.value, source, type, ctx);
  };
  return {
    onMessage(m, ctx) {
      const ch = parseChannel(m.topic, root);
      if (!ch.ok || ch.value.kind !== kind) throw new Error(`not an ${kind} topic: ${m.topic}`);
      const { entity, type } = ch.value;
      const record = ctx.mapper.get(entity) as { "@type"?: unknown } | null;
      const id = externalId(record);
      if (id === undefined) return [];
      const mainId = record?.["@type"] === "device" ? id : (externalId(ctx.mapper.get(MAIN_DEVICE)) ?? "");
      const r = translate(
        ctx.mapper,
        entity,
        type,
        m.payload,
        { externalId: id },
        {
          mainId,
          now: () => m.time.getTime(),
        },
      );
      if (!r.ok) throw new Error(`not a thin-edge ${kind}: ${r.error}`);
      return r.value.map(
        (o): OutMessage => ({ topic: topicOf(o.topic), payload: o.payload, mqtt: { qos: o.qos ?? 1 } }),
      );
    },
  };
}

export const intoC8yMeasurements = (c: Config): Step => c8yStep("measurement", c);
export const intoC8yEvents = (c: Config): Step => c8yStep("event", c);
export const intoC8yAlarms = (c: Config): Step => c8yStep("alarm", c);
