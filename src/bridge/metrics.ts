import type { LinkMetrics } from "./cloud-link.ts";

/** The te/ topic of the bridge's own measurements (service `ledge-bridge` of the main device). */
export const metricsTopic = (root: string) => `${root}/device/main/service/ledge-bridge/m/bridge`;

/**
 * Thin Edge JSON: one group per cloud (`{"c8y":{"queue_depth":0,...},"time":...}`), numbers only,
 * so every mapper can take it as a measurement.
 */
export function metricsPayload(links: { name: string; metrics: LinkMetrics }[], nowMs: number): string {
  const doc: Record<string, unknown> = {};
  for (const { name, metrics: m } of links) {
    doc[name] = {
      connected: m.connected ? 1 : 0,
      queue_depth: m.queue_depth,
      queue_bytes: m.queue_bytes,
      drops: m.drops,
      reconnects: m.reconnects,
      messages_sent: m.messages_sent,
      bytes_sent: m.bytes_sent,
      messages_received: m.messages_received,
    };
  }
  doc.time = new Date(nowMs).toISOString();
  return JSON.stringify(doc);
}
