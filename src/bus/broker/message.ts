import type { Properties, QoS } from "../mqtt/packets.ts";

/** A message as the broker routes and stores it, independent of any connection. */
export interface Message {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /**
   * v5 application properties forwarded unaltered [MQTT-3.3.2-15..20]: payload format, content
   * type, response topic, correlation data, user properties. Never topic alias or subscription ids.
   */
  properties?: Properties;
  /** Absolute expiry (ms since epoch) from the message expiry interval [MQTT-3.3.2-5]. */
  expiresAt?: number;
  /** Client id of the publisher, for no-local [MQTT-3.8.3-3]; absent for in-process publishes. */
  from?: string;
}

/** One message on its way to one session: the QoS and retain flag it is sent with, its subscription ids. */
export interface Delivery {
  msg: Message;
  qos: QoS;
  retain: boolean;
  subscriptionIds?: number[];
  /** Its record in the broker's journal, while a persistent session owns it. */
  seq?: number;
}

const FORWARDED: (keyof Properties)[] = [
  "payloadFormatIndicator",
  "contentType",
  "responseTopic",
  "correlationData",
  "userProperties",
];

/** The properties of an inbound PUBLISH that travel with the message. */
export function forwardedProperties(p: Properties | undefined): Properties | undefined {
  if (!p) return undefined;
  let out: Properties | undefined;
  for (const k of FORWARDED) {
    if (p[k] === undefined) continue;
    out ??= {};
    (out as Record<string, unknown>)[k] = p[k];
  }
  return out;
}

/** Properties for sending a delivery at `now`: remaining expiry [MQTT-3.3.2-6] and subscription ids. */
export function outgoingProperties(d: Delivery, now: number): Properties | undefined {
  const { msg } = d;
  if (!msg.properties && msg.expiresAt === undefined && !d.subscriptionIds) return undefined;
  const p: Properties = { ...msg.properties };
  if (msg.expiresAt !== undefined)
    p.messageExpiryInterval = Math.max(0, Math.ceil((msg.expiresAt - now) / 1000));
  if (d.subscriptionIds) p.subscriptionIdentifiers = d.subscriptionIds;
  return p;
}

export const expired = (m: Message, now: number) => m.expiresAt !== undefined && m.expiresAt <= now;

/** Bytes a queued message holds, for the per-client queue bound. */
export const messageBytes = (m: Message) => m.payload.length + m.topic.length + 64;
