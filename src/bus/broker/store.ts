import type { Delivery, Message } from "./message.ts";
import type { Session } from "./session.ts";

/**
 * Where the core reports what must survive a restart: retained messages and persistent sessions
 * (subscriptions, QoS 1/2 messages queued or in flight). Called synchronously at each change,
 * before the change is acknowledged to any client.
 */
export interface BrokerStore {
  /** A retained message set, or cleared (empty payload). */
  retain(msg: Message): void;
  /** A persistent session's subscriptions or expiry changed (or it was created). */
  session(s: Session): void;
  endSession(clientId: string): void;
  /** A QoS 1/2 delivery now owned by a persistent session (queued or in flight). */
  enqueue(s: Session, d: Delivery): void;
  /** That delivery was acknowledged or dropped. */
  done(s: Session, d: Delivery): void;
}
