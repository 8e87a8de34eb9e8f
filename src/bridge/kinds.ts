import type { QueuedMessage } from "./queue/types.ts";

/**
 * Which queued messages are measurements, told from the cloud topic and the first payload bytes
 * only (it runs on every append that meets a full queue, so it never parses JSON). A full queue
 * drops measurements before anything else; whatever is not recognised here (events, alarms,
 * operation status, SmartREST 50x, inventory, twin updates, Azure's shared event topic) is kept
 * as long as a measurement can go instead.
 *
 * - Cumulocity JSON: `measurement/measurements/create`;
 * - Cumulocity SmartREST static templates 200, 201 (custom measurements), 210, 211, 212 (signal
 *   strength, temperature, battery) on `s/us[/<child>]`, every line of the payload;
 * - Thin Edge JSON on a measurement topic (a `/m/` level: te/, aws `td/`, the plain MQTT cloud);
 * - a CBOR batch frame (README "Telemetry batching"): a 10-item array, version 1. Frames carry
 *   measurements only (events and alarms stay JSON).
 */
export function isMeasurement(msg: QueuedMessage): boolean {
  const { topic, payload } = msg;
  if (isC8yMeasurementTopic(topic)) return true;
  if (isCborFrame(payload)) return true;
  if (isMeasurementTopic(topic)) return payload[0] === 0x7b; // "{": a Thin Edge JSON measurement
  if (/(^|\/)s\/us(\/|$)/.test(topic)) return smartRestMeasurement(payload);
  return false;
}

const C8Y_MEASUREMENT = "measurement/measurements/create";

/** Cumulocity's JSON measurement topic (`measurement/measurements/create`). */
export const isC8yMeasurementTopic = (topic: string): boolean =>
  topic === C8Y_MEASUREMENT || topic.endsWith(`/${C8Y_MEASUREMENT}`);

/** A topic with a `/m/` level: Thin Edge JSON measurements (te/, aws `td/`, the plain MQTT cloud). */
export const isMeasurementTopic = (topic: string): boolean => /(^|\/)m(\/|$)/.test(topic);
const MEASUREMENT_TEMPLATES = /^(200|201|210|211|212)(,|$)/;

/** Array of 10 items (head 0x8a) whose first item is the version 1: a batch frame. */
export const isCborFrame = (payload: Uint8Array): boolean => payload[0] === 0x8a && payload[1] === 0x01;

function smartRestMeasurement(payload: Uint8Array): boolean {
  // SmartREST lines are short; a long payload is not worth decoding to find out.
  if (payload.byteLength > 4096) return false;
  const lines = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
    .toString("utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
  return lines.length > 0 && lines.every((l) => MEASUREMENT_TEMPLATES.test(l.trim()));
}
