/** Why a message did not reach a client (the `drops` counters). */
export type DropReason =
  | "slow_client"
  | "queue_full"
  | "offline_qos0"
  | "expired"
  | "too_large_for_client"
  | "topic_invalid"
  | "not_authorized"
  | "retained_full";

/** Counters of the broker; the app publishes them as measurements of `ledge-broker`. */
export class BrokerMetrics {
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  connectionsRefused = 0;
  disconnectsSlow = 0;
  readonly drops: Record<DropReason, number> = {
    slow_client: 0,
    queue_full: 0,
    offline_qos0: 0,
    expired: 0,
    too_large_for_client: 0,
    topic_invalid: 0,
    not_authorized: 0,
    retained_full: 0,
  };

  drop(reason: DropReason): void {
    this.drops[reason]++;
  }
}

/** A thin-edge measurement (`te/.../service/ledge-broker/m/broker`) of the broker's counters. */
export function brokerMeasurement(
  m: BrokerMetrics,
  state: { clients: number; sessions: number; retained: number },
  now: number,
): Record<string, unknown> {
  return {
    time: new Date(now).toISOString(),
    clients: {
      connected: state.clients,
      sessions: state.sessions,
      refused: m.connectionsRefused,
      slow_disconnects: m.disconnectsSlow,
    },
    retained: { count: state.retained },
    messages: { in: m.messagesIn, out: m.messagesOut },
    bytes: { in: m.bytesIn, out: m.bytesOut },
    drops: { ...m.drops },
  };
}
