/**
 * Shared by the Azure, AWS and plain-MQTT mappers: a te/ measurement, event or alarm kept as the
 * device sent it, validated, with `time` normalised (added when missing) to ISO 8601 or, as
 * thin-edge's `timestamp_format = "unix"` writes it, unix seconds; and, for the clouds that take
 * it, service health unchanged.
 */

import { parseChannel } from "../../api/channels.ts";
import {
  type Measurement,
  parseJson,
  validateAlarm,
  validateEvent,
  validateMeasurement,
} from "../../api/payloads.ts";
import { nowIso } from "../../api/time.ts";
import type { ParsedTopic } from "../../api/topics.ts";
import type { EntityCache } from "./entities.ts";
import type { InMessage, MapperContext, Result } from "./types.ts";

export type TelemetryChannel = "m" | "e" | "a";
const TELEMETRY_CHANNEL = { measurement: "m", event: "e", alarm: "a" } as const;
/** thin-edge's `az.mapper.timestamp_format` / `aws.mapper.timestamp_format`. */
export type TimeFormat = "unix" | "rfc3339";

export interface TelemetryOptions {
  timeFormat?: TimeFormat;
  /** Forward `te/<service>/status/health` too (Azure and AWS do, thin-edge). */
  health?: boolean;
}

/** Health of a service, forwarded as it came. */
export interface HealthMessage {
  topic: ParsedTopic & { channel: "status"; type: "health" };
  payload: string;
}

export interface Telemetry {
  topic: ParsedTopic & { channel: TelemetryChannel; type: string };
  /** The normalised JSON text; empty for an alarm clear. */
  payload: string;
  /** Channel `m`: the validated measurement, `time` filled in as in `payload` (no second parse for batching). */
  measurement?: Measurement;
}

export function telemetryFilters(root: string, opts: TelemetryOptions = {}): string[] {
  const e = `${root}/+/+/+/+`;
  return [e, `${e}/m/+`, `${e}/e/+`, `${e}/a/+`, ...(opts.health ? [`${e}/status/health`] : [])];
}

/**
 * ISO 8601 → unix seconds, keeping the fraction's digits beyond milliseconds (thin-edge writes
 * the f64 of its nanoseconds).
 */
export function unixSeconds(iso: string): number {
  const m = /\.(\d+)/.exec(iso);
  const whole = Math.floor(Date.parse(iso.replace(/\.\d+/, "")) / 1000);
  return m ? whole + Number(`0.${m[1]}`) : whole;
}

/** Keeps the payload's own keys and order; replaces `time` in place or appends it. */
function normalised(
  channel: TelemetryChannel,
  payload: Buffer,
  now: () => number,
  format: TimeFormat,
): Result<{ text: string; measurement?: Measurement }> {
  const written = (iso: string, given?: unknown) =>
    format === "rfc3339" ? iso : typeof given === "number" ? given : unixSeconds(iso);
  if (payload.length === 0) {
    if (channel === "a") return { ok: true, value: { text: "" } };
    if (channel === "e") return { ok: true, value: { text: JSON.stringify({ time: written(nowIso(now)) }) } };
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
  obj.time = written(time, obj.time);
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
  opts: TelemetryOptions = {},
): Result<Telemetry | HealthMessage | undefined> {
  if (msg.payload.length > ctx.maxPayloadBytes)
    return {
      ok: false,
      error: `payload of ${msg.payload.length} bytes exceeds mqtt.max_payload_bytes (${ctx.maxPayloadBytes})`,
    };
  const t = parseChannel(msg.topic, ctx.root);
  if (!t.ok) return t;
  const ch = t.value;
  const none = { ok: true, value: undefined } as const;
  switch (ch.kind) {
    case "registration": {
      if (msg.payload.length === 0) {
        entities.remove(ch.entity);
        return none;
      }
      const j = parseJson(msg.payload);
      if (!j.ok) return j;
      const r = entities.register(ch.entity, j.value);
      return r.ok ? none : r;
    }
    case "health": {
      if (!opts.health || msg.payload.length === 0) return none;
      const known = entities.ensure(ch.entity);
      if (!known.ok) return known;
      const topic: HealthMessage["topic"] = {
        entity: ch.entity,
        channel: "status",
        type: "health",
        rest: [],
      };
      return { ok: true, value: { topic, payload: msg.payload.toString("utf8") } };
    }
    case "measurement":
    case "event":
    case "alarm":
      break;
    default:
      return none;
  }
  const channel = TELEMETRY_CHANNEL[ch.kind];
  const known = entities.ensure(ch.entity);
  if (!known.ok) return known;
  const n = normalised(channel, msg.payload, ctx.now, opts.timeFormat ?? "rfc3339");
  if (!n.ok) return n;
  return {
    ok: true,
    value: {
      topic: { entity: ch.entity, channel, type: ch.type, rest: [] },
      payload: n.value.text,
      measurement: n.value.measurement,
    },
  };
}
