import { awsDownlink, awsUplink } from "../api/clouds/aws.ts";
import { azDownlink, azUplink } from "../api/clouds/az.ts";
import { C8Y_DOWNLINK, C8Y_PREFIX } from "../api/clouds/c8y.ts";
import { mqttDownlink, mqttUplink } from "../api/clouds/mqtt.ts";
import { matches } from "../bus/topic-filter.ts";

export const CLOUDS = ["c8y", "az", "aws", "mqtt"] as const;
export type CloudName = (typeof CLOUDS)[number];

export function isCloudName(s: string): s is CloudName {
  return (CLOUDS as readonly string[]).includes(s);
}

/**
 * One topic mapping between the local bus and the cloud. Either both sides are exact topics, or
 * both end in `#` and the part before it is a prefix that is swapped (`c8y/#` ⇄ `#`).
 */
export interface Route {
  local: string;
  remote: string;
}

export interface CloudRoutes {
  /** Local → cloud. A local topic that matches a downlink's local side is never sent up (no loops). */
  uplink: Route[];
  /** Cloud → local. */
  downlink: Route[];
}

/** Topic routes per cloud; `deviceId` is the MQTT identity, `prefix` the plain MQTT cloud's topic root. */
export function routesFor(cloud: CloudName, deviceId: string, prefix = "ledge"): CloudRoutes {
  switch (cloud) {
    case "c8y":
      return {
        uplink: [{ local: `${C8Y_PREFIX}/#`, remote: "#" }],
        downlink: C8Y_DOWNLINK.map((t) => ({ local: `${C8Y_PREFIX}/${t}`, remote: t })),
      };
    case "az":
      return { uplink: azUplink(deviceId), downlink: azDownlink(deviceId) };
    case "aws":
      return { uplink: awsUplink(deviceId), downlink: awsDownlink(deviceId) };
    case "mqtt":
      return { uplink: mqttUplink(prefix), downlink: mqttDownlink(prefix) };
  }
}

/** Rewrites `topic` from one side of a route to the other, or undefined when it does not match. */
export function rewrite(from: string, to: string, topic: string): string | undefined {
  if (!from.endsWith("#")) return topic === from ? to : undefined;
  const prefix = from.slice(0, -1);
  if (!topic.startsWith(prefix)) return undefined;
  // `c8y/` alone would become the empty topic.
  return to.slice(0, -1) + topic.slice(prefix.length) || undefined;
}

/** The cloud topic for a local message, or undefined when it stays local. */
export function uplinkTopic(routes: CloudRoutes, local: string): string | undefined {
  if (routes.downlink.some((r) => matches(r.local, local))) return undefined;
  for (const r of routes.uplink) {
    const t = rewrite(r.local, r.remote, local);
    if (t) return t;
  }
  return undefined;
}

/** The local topic for a message from the cloud, or undefined when no route takes it. */
export function downlinkTopic(routes: CloudRoutes, remote: string): string | undefined {
  for (const r of routes.downlink) {
    const t = rewrite(r.remote, r.local, remote);
    if (t) return t;
  }
  return undefined;
}

export interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
}

/**
 * A cloud URL as users write it: `host`, `host:port`, `mqtts://host[:port]`, `mqtt://host[:port]`
 * (no TLS), `https://host` (the MQTT port is still 8883), `[::1]:8883`.
 */
export function parseEndpoint(url: string, defaultPort = 8883): Endpoint {
  const text = url.trim();
  if (!text) throw new Error("no URL set");
  const m = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\[[0-9a-fA-F:.]+\]|[^/:?#\s[\]]+)(?::(\d+))?\/?$/.exec(text);
  if (!m) throw new Error(`'${url}' is not a host, host:port or mqtts://host:port`);
  const scheme = m[1]?.toLowerCase();
  if (scheme && !["mqtt", "mqtts", "ssl", "tls", "https", "tcp"].includes(scheme))
    throw new Error(`'${url}': unsupported scheme '${scheme}' (use mqtts:// or mqtt://)`);
  const tls = !(scheme === "mqtt" || scheme === "tcp");
  const port = m[3] ? Number(m[3]) : tls ? defaultPort : 1883;
  if (!(port >= 1 && port <= 65535)) throw new Error(`'${url}': port ${m[3]} is out of range`);
  const host = m[2]!.startsWith("[") ? m[2]!.slice(1, -1) : m[2]!;
  return { host, port, tls };
}
