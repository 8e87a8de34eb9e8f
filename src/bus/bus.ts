/**
 * The local bus as components see it. Two implementations: `MqttBus` (an MQTT connection, for an
 * external broker or a component in its own process) and `LocalBus` (the embedded broker's
 * in-process API, no socket). What reaches MQTT subscribers is identical either way.
 */
export type QoS = 0 | 1 | 2;

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
}

export interface BusMessage {
  topic: string;
  payload: Buffer;
  /** True when delivered from the broker's retained store on subscribe. */
  retain: boolean;
  qos: QoS;
}

/** One message a component asks to be published (mappers, drivers): topic, payload, options. */
export interface OutMessage extends PublishOptions {
  topic: string;
  payload: string | Uint8Array;
}

export type MessageHandler = (msg: BusMessage) => void;

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface Bus {
  publish(topic: string, payload: string | Uint8Array, opts?: PublishOptions): Promise<void>;
  /**
   * Publishes at once and throws what `publish` would reject with: only a bus whose publish is
   * done when it returns (in-process) has it, and a hot path spares a promise per message with it.
   */
  publishNow?(topic: string, payload: string | Uint8Array, opts?: PublishOptions): void;
  /** Delivers retained messages that match, then live ones, like an MQTT subscription. */
  subscribe(filters: string | string[], handler: MessageHandler, opts?: { qos?: QoS }): Promise<Subscription>;
  /**
   * Topics of the retained messages matching any of `filters` now, seen by no handler of this bus
   * (deregistration finds an entity's retained topics this way instead of remembering every topic
   * it ever saw). In-process the answer is exact. Over MQTT it comes from a short-lived connection
   * of its own, and a broker may drop or delay part of a large set: a caller that must find all
   * clears what it got and asks again until nothing is left.
   */
  retainedTopics(filters: string[]): Promise<string[]>;
  /**
   * A per-component connection identity whose last will the bus publishes if the component's
   * process dies (MQTT will on its own connection; nothing to do in-process, where the broker dies too).
   */
  withWill(
    clientId: string,
    will: { topic: string; payload: string; retain: boolean; qos: QoS },
  ): Promise<Bus>;
  close(): Promise<void>;
}
