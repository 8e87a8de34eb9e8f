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
  /** Delivers retained messages that match, then live ones, like an MQTT subscription. */
  subscribe(filters: string | string[], handler: MessageHandler, opts?: { qos?: QoS }): Promise<Subscription>;
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
