import {
  parseJson,
  type Registration,
  validateAlarm,
  validateEvent,
  validateMeasurement,
  validateRegistration,
} from "./payloads.ts";
import type { ParsedTopic } from "./topics.ts";

export type Verdict =
  | { kind: "ok" }
  | { kind: "ignore" }
  | { kind: "invalid"; error: string }
  | { kind: "register"; registration: Registration }
  | { kind: "deregister" };

const LABEL: Record<string, string> = { m: "measurement", e: "event", a: "alarm", twin: "twin value" };

/** Checks one te/ message against thin-edge's rules. Pure. */
export function validateMessage(parsed: ParsedTopic, payload: Buffer, maxBytes: number): Verdict {
  if (payload.length > maxBytes)
    return { kind: "invalid", error: `payload of ${payload.length} bytes exceeds the limit of ${maxBytes}` };
  const { channel } = parsed;
  if (channel === undefined) {
    if (payload.length === 0) return { kind: "deregister" };
    const json = parseJson(payload);
    if (!json.ok) return { kind: "invalid", error: json.error };
    const reg = validateRegistration(json.value);
    return reg.ok ? { kind: "register", registration: reg.value } : { kind: "invalid", error: reg.error };
  }
  const label = LABEL[channel];
  if (!label) return { kind: "ignore" };
  if (payload.length === 0) {
    // Empty clears retained alarms, twin values and unit metadata; an empty event or measurement is an error.
    if (channel === "a" || channel === "twin" || parsed.rest[0] === "meta" || channel === "e")
      return { kind: "ok" };
    return { kind: "invalid", error: `empty ${label}` };
  }
  const json = parseJson(payload);
  if (!json.ok) return { kind: "invalid", error: json.error };
  if (channel === "m" && parsed.rest[0] === "meta") {
    return json.value !== null && typeof json.value === "object" && !Array.isArray(json.value)
      ? { kind: "ok" }
      : { kind: "invalid", error: "measurement metadata must be a JSON object" };
  }
  const result =
    channel === "m"
      ? validateMeasurement(json.value)
      : channel === "e"
        ? validateEvent(json.value)
        : channel === "a"
          ? validateAlarm(json.value)
          : json;
  return result.ok ? { kind: "ok" } : { kind: "invalid", error: result.error };
}

export function describe(parsed: ParsedTopic): string {
  return parsed.channel ? (LABEL[parsed.channel] ?? parsed.channel) : "registration";
}
