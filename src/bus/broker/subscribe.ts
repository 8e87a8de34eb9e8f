import type { QoS, SubscriptionRequest } from "../mqtt/packets.ts";
import { Reason } from "../mqtt/reason-codes.ts";
import { parseFilter } from "./filters.ts";
import type { Delivery } from "./message.ts";
import type { RetainedStore } from "./retained.ts";
import type { Subscription } from "./session.ts";

/**
 * One requested subscription checked: the subscription to keep, the SUBACK failure code
 * ([MQTT-3.9.3]: 0x80 for 3.1.1), or a protocol error that closes the connection.
 */
export function checkRequest(
  r: SubscriptionRequest,
  o: { v5: boolean; id: number | undefined; maxLevels: number; allowed: (topicFilter: string) => boolean },
): Subscription | { code: number } | { protocolError: string } {
  const parsed = parseFilter(r.filter, o.maxLevels);
  if ("error" in parsed) return { code: o.v5 ? Reason.TopicFilterInvalid : 0x80 };
  // [MQTT-3.8.3-4] no local on a shared subscription is a protocol error
  if (parsed.group !== undefined && r.noLocal) return { protocolError: "no local on a shared subscription" };
  if (!o.allowed(parsed.topicFilter)) return { code: o.v5 ? Reason.NotAuthorized : 0x80 };
  return {
    filter: r.filter,
    topicFilter: parsed.topicFilter,
    qos: r.qos,
    noLocal: r.noLocal,
    retainAsPublished: r.retainAsPublished,
    retainHandling: r.retainHandling,
    ...(parsed.group !== undefined && { group: parsed.group }),
    ...(o.id !== undefined && { id: o.id }),
  };
}

/**
 * Retained messages a new subscription gets ([MQTT-3.3.1-9], flagged retain) per its retain handling
 * ([MQTT-3.8.3.1]: 1 only when it did not exist, 2 never); none for a shared subscription.
 */
export function retainedFor(
  sub: Subscription,
  existed: boolean,
  store: RetainedStore,
  now: number,
): Delivery[] {
  if (sub.group !== undefined || sub.retainHandling === 2 || (sub.retainHandling === 1 && existed)) return [];
  return store.match(sub.topicFilter, now).map((m) => ({
    msg: m,
    qos: Math.min(m.qos, sub.qos) as QoS,
    retain: true,
    ...(sub.id !== undefined && { subscriptionIds: [sub.id] }),
  }));
}
