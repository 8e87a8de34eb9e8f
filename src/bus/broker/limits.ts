/** The broker's limits; the config keys `broker.*` fill them (src/config/keys/broker.ts). */
export interface BrokerLimits {
  /** Largest packet accepted from a client (fixed header included), advertised to v5 clients. */
  maxPacketSize: number;
  /** Most concurrent client connections; more are refused with Server unavailable/busy. */
  maxConnections: number;
  /** Most unacknowledged QoS 1/2 messages sent to one client (a v5 client's receive maximum can lower it). */
  maxInflight: number;
  /** Most messages waiting for one client (online or offline); beyond: QoS 0 dropped, QoS 1/2 disconnect. */
  maxQueued: number;
  /** Most bytes waiting for one client, same policy. */
  maxQueuedBytes: number;
  /** Longest client id accepted (UTF-8 bytes are not counted; characters). */
  maxClientIdLength: number;
  /** Most topic levels in a topic name or filter. */
  maxTopicLevels: number;
  /** Most topic aliases a v5 client may use towards the broker. */
  topicAliasMaximum: number;
  /** Most retained messages kept; beyond, new retained topics are refused (dropped, counted). */
  maxRetained: number;
  /** Upper bound on a v5 session expiry interval (s); 3.1.1 persistent sessions use it too. */
  maxSessionExpiry: number;
}

export const DEFAULT_LIMITS: BrokerLimits = {
  maxPacketSize: 1 << 20,
  maxConnections: 1024,
  maxInflight: 100,
  maxQueued: 100_000,
  maxQueuedBytes: 64 << 20,
  maxClientIdLength: 256,
  maxTopicLevels: 100,
  topicAliasMaximum: 64,
  maxRetained: 100_000,
  maxSessionExpiry: 0xffffffff,
};
