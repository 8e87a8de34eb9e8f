/**
 * Shared by the Azure, AWS and plain-MQTT mappers: a te/ measurement, event or alarm kept as the
 * device sent it, validated, with `time` normalised to ISO 8601 (added when missing).
 */
import {
  type Measurement,
  parseJson,
  validateAlarm,
  validateEvent,
  validateMeasurement,
} from "../../api/payloads.ts";
import { nowIso } from "../../api/time.ts";
import { type ParsedTopic, parseTopic } from "../../api/topics.ts";
import type { EntityCache } from "./entities.ts";
import type { InMessage, MapperContext, Result } from "./types.ts";

export type TelemetryChannel = "m" | "e" | "a";

export interface Telemetry {
  topic: ParsedTopic & { channel: TelemetryChannel; type: string };
  /** The normalised JSON text; empty for an alarm clear. */
  payload: string;
  /** Channel `m`: the validated measurement, `time` filled in as in `payload` (no second parse for batching). */
  measurement?: Measurement;
}

export function telemetryFilters(root: string): string[] {
  const e = `${root}/+/+/+/+`;
  return [e, `${e}/m/+`, `${e}/e/+`, `${e}/a/+`];
}

/** Keeps the payload's own keys and order; replaces `time` in place or appends it. */
function normalised(
  channel: TelemetryChannel,
  payload: Buffer,
  now: () => number,
): Result<{ text: string; measurement?: Measurement }> {
  if (payload.length === 0) {
    if (channel === "a") return { ok: true, value: { text: "" } };
    if (channel === "e") return { ok: true, value: { text: JSON.stringify({ time: nowIso(now) }) } };
  }
  const j = parseJson(payload);
  if (!j.ok) return j;
  const v =
    channel === "m"
      ? validateMeasurement(j.value)
      : channel === "e"
        ? validateEvent(j.value)
        : validateAlarm(j.value);
  if (!v.ok) return v;
  const obj = j.value as Record<string, unknown>;
  const time = v.value.time ?? nowIso(now);
  obj.time = time;
  const text = JSON.stringify(obj);
  if (channel !== "m") return { ok: true, value: { text } };
  const measurement = v.value as Measurement;
  measurement.time = time;
  return { ok: true, value: { text, measurement } };
}

/**
 * Parses, size-checks and normalises one te/ message; registration messages update `entities`.
 * Returns undefined for messages that carry no telemetry (registrations, other channels).
 */
export function readTelemetry(
  msg: InMessage,
  entities: EntityCache,
  ctx: MapperContext,
): Result<Telemetry | undefined> {
  if (msg.payload.length > ctx.maxPayloadBytes)
    return {
      ok: false,
      error: `payload of ${msg.payload.length} bytes exceeds mqtt.max_payload_bytes (${ctx.maxPayloadBytes})`,
    };
  const t = parseTopic(msg.topic, ctx.root);
  if (!t.ok) return t;
  const { channel } = t.value;
  if (channel === undefined) {
    if (msg.payload.length === 0) {
      entities.remove(t.value.entity);
      return { ok: true, value: undefined };
    }
    const j = parseJson(msg.payload);
    if (!j.ok) return j;
    const r = entities.register(t.value.entity, j.value);
    return r.ok ? { ok: true, value: undefined } : r;
  }
  if (channel !== "m" && channel !== "e" && channel !== "a") return { ok: true, value: undefined };
  if (channel === "m" && t.value.rest.length > 0) return { ok: true, value: undefined }; // meta
  const known = entities.ensure(t.value.entity);
  if (!known.ok) return known;
  const n = normalised(channel, msg.payload, ctx.now);
  if (!n.ok) return n;
  return {
    ok: true,
    value: {
      topic: { ...t.value, channel, type: t.value.type ?? "" },
      payload: n.value.text,
      measurement: n.value.measurement,
    },
  };
}
