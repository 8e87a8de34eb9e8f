import type { ProtocolVersion, Will } from "../mqtt/packets.ts";
import type { Link } from "./link.ts";
import type { Message } from "./message.ts";
import type { Session } from "./session.ts";

/** One client connection as the core tracks it. */
export class Conn {
  version: ProtocolVersion = 4;
  connected = false;
  closed = false;
  session?: Session;
  keepalive = 0;
  lastSeen: number;
  will?: Will;
  /** A DISCONNECT other than 0x04 was received: the will is discarded [MQTT-3.14.4-3]. */
  normal = false;
  readonly aliases = new Map<number, string>();
  /** Outgoing QoS 1/2 window: the broker's bound or the client's receive maximum [MQTT-3.3.4-9]. */
  window = 0;
  /** The client's maximum packet size [MQTT-3.1.2-24]. */
  peerMaxPacket = Number.POSITIVE_INFINITY;
  blocked = false;
  user?: string;

  constructor(
    readonly link: Link,
    now: number,
  ) {
    this.lastSeen = now;
  }
}

/** An in-process subscriber (LocalBus): no session, no codec. */
export interface LocalSub {
  readonly filters: string[];
  deliver(msg: Message, retained: boolean): void;
}
