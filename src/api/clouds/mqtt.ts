/** The plain MQTT cloud's topic contract: one prefix, the same on the local bus and at the broker. */
import type { LocalRemote } from "./az.ts";

/**
 * `mqtt.cloud.prefix`, or `ledge/<device.id>` when empty. The mapper and the bridge both take it
 * from here, so they cannot disagree about where an unset device id leads.
 */
export function mqttPrefix(configured: string, deviceId: string): string {
  return configured || `ledge/${deviceId || "device"}`;
}

export const mqttBatchTopic = (prefix: string) => `${prefix}/batch`;

export const mqttUplink = (prefix: string): LocalRemote[] => [
  { local: `${prefix}/#`, remote: `${prefix}/#` },
];
export const mqttDownlink = (prefix: string): LocalRemote[] => [
  { local: `${prefix}/cmd/#`, remote: `${prefix}/cmd/#` },
];
