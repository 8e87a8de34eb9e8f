import type { Will } from "../mqtt/packets.ts";
import { forwardedProperties, type Message } from "./message.ts";
import type { Session } from "./session.ts";

/** The message a will becomes when published [MQTT-3.1.2-8], its expiry counted from `now`. */
export function willMessage(clientId: string, will: Will, now: number): Message {
  const msg: Message = {
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    from: clientId,
  };
  const props = forwardedProperties(will.properties);
  if (props) msg.properties = props;
  const interval = will.properties?.messageExpiryInterval;
  if (interval !== undefined) msg.expiresAt = now + interval * 1000;
  return msg;
}

/**
 * What happens to a will when its connection drops [MQTT-3.1.3-9]: published now (no delay, or
 * the session ends with the connection), kept on the session until the delay passes, or dropped
 * (a delayed will whose session another connection already took over).
 */
export function willAction(
  s: Session,
  will: Will,
  now: number,
  takenOver: boolean,
): "now" | "later" | "drop" {
  const delay = will.properties?.willDelayInterval ?? 0;
  if (delay === 0) return "now";
  if (takenOver) return "drop";
  if (s.expiry === 0) return "now";
  s.pendingWill = { will, at: now + delay * 1000 };
  return "later";
}
