/**
 * Is the cloud connection alive and moving? Pure, driven by events and a clock, independent of
 * the MQTT client: the link reports what happens and asks `check` once a second.
 *
 * - PUBACK timeout: the oldest unacknowledged publish waited longer than `ackTimeoutMs` → reconnect
 *   (MQTT 3.1.1 §4.4: resend unacknowledged PUBLISH packets on a new connection).
 * - Keepalive timeout: nothing at all received for 1.5 × keepalive (the same grace the server uses,
 *   §3.1.2.10) → reconnect; a cloud that accepted the connection and went silent is dead.
 * - Stall: work waiting (unsent or unacknowledged records) and no acknowledgement for `stallMs`
 *   while connected → `stalled` until the next acknowledgement. Reconnects made for the two
 *   timeouts above do not reset it: a cloud that accepts connections and never acknowledges stays
 *   reported as stalled.
 */
export interface LivenessConfig {
  ackTimeoutMs: number;
  keepaliveMs: number;
  stallMs: number;
}

export interface Verdict {
  /** Why the connection must be ended and made again; undefined when it is fine. */
  reconnect?: string;
  stalled: boolean;
}

export class Liveness {
  /** Unacknowledged publishes by id, in send order, with the time each was sent. */
  private readonly outstanding = new Map<number, number>();
  private connectedAt?: number;
  private lastReceived = 0;
  private progressAt = 0;
  private stalled = false;
  private ownReconnect = false;

  constructor(private readonly cfg: LivenessConfig) {}

  connected(now: number): void {
    this.connectedAt = now;
    this.lastReceived = now;
    this.outstanding.clear();
    if (!this.ownReconnect) {
      this.progressAt = now;
      this.stalled = false;
    }
    this.ownReconnect = false;
  }

  disconnected(): void {
    this.connectedAt = undefined;
    this.outstanding.clear();
    if (!this.ownReconnect) this.stalled = false;
  }

  sent(id: number, now: number): void {
    this.outstanding.set(id, now);
  }

  acked(id: number, now: number): void {
    this.outstanding.delete(id);
    this.lastReceived = now;
    this.progressAt = now;
    this.stalled = false;
  }

  /** Any packet from the cloud (PINGRESP, SUBACK, PUBLISH, ...). */
  received(now: number): void {
    this.lastReceived = now;
  }

  /** `pending`: records are waiting to be sent. */
  check(now: number, pending: boolean): Verdict {
    if (this.connectedAt === undefined) return { stalled: this.stalled };
    if (!pending && !this.outstanding.size) this.progressAt = now;
    if (now - this.progressAt >= this.cfg.stallMs) this.stalled = true;
    const oldest = this.outstanding.values().next();
    let reconnect: string | undefined;
    if (!oldest.done && now - oldest.value >= this.cfg.ackTimeoutMs)
      reconnect = `no PUBACK for ${Math.round((now - oldest.value) / 1000)} s`;
    else if (now - this.lastReceived >= this.cfg.keepaliveMs * 1.5)
      reconnect = `nothing received for ${Math.round((now - this.lastReceived) / 1000)} s (keepalive)`;
    if (reconnect) this.ownReconnect = true;
    return { reconnect, stalled: this.stalled };
  }
}
