import type { Logger } from "../../foundation/logger.ts";
import type { Properties, ProtocolVersion, Will } from "../mqtt/index.ts";
import type { ClientTls, Net } from "../net/net.ts";
import { type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";

export interface ClientOptions {
  host: string;
  port: number;
  /** TLS (with `cert`/`key` for mutual TLS); PEM text. */
  tls?: ClientTls;
  clientId: string;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5.0 (default 5). */
  protocolVersion?: ProtocolVersion;
  /**
   * false: a persistent session (3.1.1 clean session 0; v5 clean start 0 with a session expiry),
   * so the broker keeps subscriptions and queued QoS 1/2 messages while this client is away, and
   * the client re-sends its own un-acknowledged messages with DUP after a reconnect. Default true.
   */
  clean?: boolean;
  /** v5, with `clean: false`: seconds the broker keeps the session after a disconnect (default: no expiry). */
  sessionExpiryS?: number;
  keepaliveS?: number;
  username?: string;
  password?: string;
  will?: Will;
  /** Extra CONNECT properties (v5). */
  properties?: Properties;
  /** TCP + TLS + CONNACK must complete within this (ms). */
  connectTimeoutMs?: number;
  /**
   * A PUBACK/PUBREC/PUBCOMP, SUBACK/UNSUBACK or PINGRESP not received within this (ms) ends the
   * connection, which is then re-established (resending what is un-acknowledged): a broker that
   * stopped answering is never waited on forever.
   */
  ackTimeoutMs?: number;
  /** Reconnect after a loss (default true), with this backoff. */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /** QoS 1/2 publishes awaiting their ack at once; v5 caps it at the broker's receive maximum. */
  inFlight?: number;
  /** Publishes queued beyond that (and while disconnected) before `publish` is refused. */
  maxQueued?: number;
  /**
   * v5: send repeated topics as topic aliases, up to the broker's Topic Alias Maximum (CONNACK),
   * least recently used remapped past it (default false: on loopback the bytes saved are not worth
   * the work; a metered link is where it pays).
   */
  topicAliases?: boolean;
  /** Socket implementation (default: `selectNet()`). */
  net?: Net;
  log?: Logger;
}

export type Settings = Required<
  Omit<
    ClientOptions,
    "tls" | "username" | "password" | "will" | "properties" | "net" | "log" | "sessionExpiryS"
  >
> &
  Pick<
    ClientOptions,
    "tls" | "username" | "password" | "will" | "properties" | "net" | "log" | "sessionExpiryS"
  >;

export function settings(o: ClientOptions): Settings {
  return {
    protocolVersion: 5,
    clean: true,
    keepaliveS: 30,
    connectTimeoutMs: 10_000,
    ackTimeoutMs: 20_000,
    reconnect: true,
    backoff: DEFAULT_BACKOFF,
    inFlight: 100,
    maxQueued: 100_000,
    topicAliases: false,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  } as Settings;
}
