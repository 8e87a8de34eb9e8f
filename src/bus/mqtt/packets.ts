/** MQTT 3.1.1 (protocol level 4) and 5.0 (level 5) control packets as plain data. */

export type ProtocolVersion = 4 | 5;
export type QoS = 0 | 1 | 2;

/** Fixed-header packet type numbers ([MQTT-2.1.2], table 2-1). */
export const PacketType = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const;

/** MQTT 5 properties ([MQTT-2.2.2.2]); absent = not sent. Ignored when encoding for 3.1.1. */
export interface Properties {
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  /** One in SUBSCRIBE; one per matching subscription in PUBLISH. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Uint8Array;
  requestProblemInformation?: number;
  willDelayInterval?: number;
  requestResponseInformation?: number;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: number;
  retainAvailable?: number;
  /** In order, duplicates allowed [MQTT-3.3.2-18]. */
  userProperties?: [string, string][];
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: number;
  subscriptionIdentifierAvailable?: number;
  sharedSubscriptionAvailable?: number;
}

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

export interface Connect {
  type: "connect";
  protocolVersion: ProtocolVersion;
  clientId: string;
  /** Clean Session (3.1.1) / Clean Start (5.0). */
  clean: boolean;
  keepalive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  properties?: Properties;
}

export interface Connack {
  type: "connack";
  sessionPresent: boolean;
  /** v5 reason code; for 3.1.1 the return code (0..5). */
  reasonCode: number;
  properties?: Properties;
}

export interface Publish {
  type: "publish";
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present exactly when qos > 0 [MQTT-2.3.1-5]. */
  packetId?: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: a packet id and (v5) a reason code, 0 when absent on the wire. */
export interface Ack {
  type: "puback" | "pubrec" | "pubrel" | "pubcomp";
  packetId: number;
  reasonCode: number;
  properties?: Properties;
}

export interface SubscriptionRequest {
  filter: string;
  qos: QoS;
  /** v5 subscription options ([MQTT-3.8.3.1]); false/0 for 3.1.1. */
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
}

export interface Subscribe {
  type: "subscribe";
  packetId: number;
  subscriptions: SubscriptionRequest[];
  properties?: Properties;
}

export interface Suback {
  type: "suback";
  packetId: number;
  /** Granted QoS or a failure code (0x80 in 3.1.1, any v5 reason code ≥ 0x80). */
  reasonCodes: number[];
  properties?: Properties;
}

export interface Unsubscribe {
  type: "unsubscribe";
  packetId: number;
  filters: string[];
  properties?: Properties;
}

export interface Unsuback {
  type: "unsuback";
  packetId: number;
  /** v5 only; empty for 3.1.1. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface Pingreq {
  type: "pingreq";
}
export interface Pingresp {
  type: "pingresp";
}

export interface Disconnect {
  type: "disconnect";
  /** v5; 0 for 3.1.1 or when absent on the wire. */
  reasonCode: number;
  properties?: Properties;
}

export interface Auth {
  type: "auth";
  reasonCode: number;
  properties?: Properties;
}

export type Packet =
  | Connect
  | Connack
  | Publish
  | Ack
  | Subscribe
  | Suback
  | Unsubscribe
  | Unsuback
  | Pingreq
  | Pingresp
  | Disconnect
  | Auth;

export type PacketName = Packet["type"];
