import type { Connect } from "../mqtt/packets.ts";

/**
 * What the broker core needs of one client connection: the socket edge implements it. The core
 * hands over encoded packets; `write` returns false once the socket is over its high-water mark,
 * and the edge calls `BrokerCore.drained` when it is writable again.
 */
export interface Link {
  write(bytes: Uint8Array): boolean;
  /** Closes after what was written; the edge then calls `BrokerCore.closed` (idempotent). */
  close(): void;
  readonly remoteAddress: string;
  /** The verified client certificate (TLS listener asking for one). */
  readonly peerCertificate?: { subject: Record<string, string>; fingerprint256: string };
  /** The listener's access policy (the LAN listener has one; loopback has none). */
  readonly policy?: Policy;
}

/** Authentication and authorization of one listener ("policy as hooks"). */
export interface Policy {
  /** A v5 reason code (0: accepted) and the user the connection acts as. */
  authenticate(c: Connect, link: Link): { reason: number; user?: string };
  canPublish(user: string | undefined, topic: string): boolean;
  canSubscribe(user: string | undefined, filter: string): boolean;
}
