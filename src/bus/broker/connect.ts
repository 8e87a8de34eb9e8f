import type { Connect, Properties } from "../mqtt/packets.ts";
import { Reason } from "../mqtt/reason-codes.ts";
import { topicNameError } from "./filters.ts";
import type { BrokerLimits } from "./limits.ts";
import type { Link } from "./link.ts";

export interface ConnectDecision {
  /** 0: accepted; else the v5 reason of the refusal. */
  reason: number;
  message?: string;
  clientId: string;
  assigned: boolean;
  /** Session expiry interval in force (s). */
  expiry: number;
}

let counter = 0;

/** Client id and session expiry rules of a CONNECT, before authentication. Pure but for the id counter. */
export function decideConnect(c: Connect, limits: BrokerLimits, now: number): ConnectDecision {
  const v5 = c.protocolVersion === 5;
  let clientId = c.clientId;
  let assigned = false;
  if (clientId.length === 0) {
    // [MQTT-3.1.3-8] a zero-length id needs a clean session (3.1.1); v5 assigns one either way
    if (!v5 && !c.clean)
      return {
        reason: Reason.ClientIdentifierNotValid,
        message: "empty client id with clean session 0",
        clientId,
        assigned,
        expiry: 0,
      };
    clientId = `auto-${now.toString(36)}-${(++counter).toString(36)}`;
    assigned = true;
  }
  if (clientId.length > limits.maxClientIdLength)
    return {
      reason: Reason.ClientIdentifierNotValid,
      message: `client id longer than ${limits.maxClientIdLength}`,
      clientId,
      assigned,
      expiry: 0,
    };
  if (c.properties?.authenticationMethod !== undefined)
    return {
      reason: Reason.BadAuthenticationMethod,
      message: "enhanced authentication is not supported",
      clientId,
      assigned,
      expiry: 0,
    };
  // [MQTT-3.1.2-23] v5 expiry from the property (absent: 0); 3.1.1 clean session 0 keeps the session
  const asked = v5 ? (c.properties?.sessionExpiryInterval ?? 0) : c.clean ? 0 : 0xffffffff;
  return { reason: 0, clientId, assigned, expiry: Math.min(asked, limits.maxSessionExpiry) };
}

/** The broker's capabilities for a v5 CONNACK [MQTT-3.2.2.3]. */
export function connackProperties(
  d: ConnectDecision,
  c: Connect,
  limits: BrokerLimits,
): Properties | undefined {
  if (c.protocolVersion !== 5) return undefined;
  const p: Properties = {
    maximumPacketSize: limits.maxPacketSize,
    topicAliasMaximum: limits.topicAliasMaximum,
  };
  if (d.assigned) p.assignedClientIdentifier = d.clientId;
  const asked = c.properties?.sessionExpiryInterval ?? 0;
  if (asked !== d.expiry) p.sessionExpiryInterval = d.expiry;
  return p;
}

/**
 * What a well-formed CONNECT must still pass: the connection limit, the listener's
 * authentication, and a will topic that is valid and allowed.
 */
export function admit(
  c: Connect,
  link: Link,
  limits: BrokerLimits,
  connected: number,
): { reason: number; message?: string; user?: string } {
  if (connected >= limits.maxConnections)
    return { reason: Reason.ServerBusy, message: `more than ${limits.maxConnections} connections` };
  let user: string | undefined;
  if (link.policy) {
    const a = link.policy.authenticate(c, link);
    if (a.reason !== 0) return { reason: a.reason, message: "authentication failed" };
    user = a.user;
  }
  if (c.will) {
    const err = topicNameError(c.will.topic, limits.maxTopicLevels);
    if (err) return { reason: Reason.TopicNameInvalid, message: `will topic: ${err}` };
    if (link.policy && !link.policy.canPublish(user, c.will.topic))
      return { reason: Reason.NotAuthorized, message: "will topic not authorized" };
  }
  return user === undefined ? { reason: 0 } : { reason: 0, user };
}
