/** MQTT 5.0 reason codes ([MQTT-2.4], table 2-6) and the 3.1.1 CONNACK return codes. */
export const Reason = {
  Success: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWill: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** MQTT 3.1.1 CONNACK return codes ([MQTT-3.2.2.3], table 3.1). */
export const ConnackV4 = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/** A v5 CONNACK reason code as the nearest 3.1.1 return code, for a 3.1.1 client. */
export function connackCodeV4(reason: number): number {
  switch (reason) {
    case Reason.Success:
      return ConnackV4.Accepted;
    case Reason.UnsupportedProtocolVersion:
      return ConnackV4.UnacceptableProtocolVersion;
    case Reason.ClientIdentifierNotValid:
      return ConnackV4.IdentifierRejected;
    case Reason.BadUserNameOrPassword:
      return ConnackV4.BadUserNameOrPassword;
    case Reason.NotAuthorized:
    case Reason.Banned:
      return ConnackV4.NotAuthorized;
    default:
      return ConnackV4.ServerUnavailable;
  }
}

const names = new Map<number, string>(Object.entries(Reason).map(([k, v]) => [v, k]));

/** `0x87 NotAuthorized`, for logs and errors. */
export function reasonName(code: number): string {
  return `0x${code.toString(16).padStart(2, "0")} ${names.get(code) ?? "Unknown"}`;
}

/** Malformed or forbidden input: the connection is closed with `reasonCode` (v5 DISCONNECT/CONNACK). */
export class ProtocolError extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}
