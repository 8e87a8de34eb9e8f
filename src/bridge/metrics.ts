import type { LinkConditions, LinkMetrics } from "./cloud-link.ts";

const SERVICE = "device/main/service/ledge-bridge";

/** The te/ topic of the bridge's own measurements (service `ledge-bridge` of the main device). */
export const metricsTopic = (root: string) => `${root}/${SERVICE}/m/bridge`;

/**
 * Thin Edge JSON: one group per cloud (`{"c8y":{"queue_depth":0,...},"time":...}`), numbers only
 * (flags as 0/1), so every mapper can take it as a measurement.
 */
export function metricsPayload(links: { name: string; metrics: LinkMetrics }[], nowMs: number): string {
  const doc: Record<string, unknown> = {};
  for (const { name, metrics } of links) {
    const group: Record<string, number> = {};
    for (const [k, v] of Object.entries(metrics)) group[k] = typeof v === "boolean" ? (v ? 1 : 0) : v;
    doc[name] = group;
  }
  doc.time = new Date(nowMs).toISOString();
  return JSON.stringify(doc);
}

export type AlarmKind = "stalled" | "disk";

/** A retained te/ alarm of the bridge service: raised with text and severity, cleared by an empty payload. */
export function alarmMessage(
  root: string,
  cloud: string,
  kind: AlarmKind,
  c: LinkConditions,
): { topic: string; payload: string } {
  const topic = `${root}/${SERVICE}/a/bridge_${cloud}_${kind}`;
  if (kind === "stalled")
    return {
      topic,
      payload: c.stalled
        ? JSON.stringify({
            text: `Bridge to ${cloud}: connected but the cloud acknowledges nothing; messages are queued`,
            severity: "major",
          })
        : "",
    };
  return {
    topic,
    payload: c.diskError
      ? JSON.stringify({
          text: `Bridge to ${cloud}: cannot store messages (${c.diskError}); they are dropped and counted`,
          severity: "critical",
        })
      : "",
  };
}
