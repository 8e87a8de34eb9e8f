import type { Bus, BusMessage, Subscription } from "../bus/bus.ts";
import { backoffDelay } from "../bus/client/backoff.ts";
import { MqttClient } from "../bus/client/client.ts";
import { topicError } from "../bus/topic-filter.ts";
import type { Logger } from "../foundation/logger.ts";
import { classify } from "./diagnose.ts";
import { Liveness } from "./liveness.ts";
import type { MessageQueue, QueuedMessage } from "./queue/types.ts";
import { TokenBucket } from "./rate.ts";
import { downlinkTopic, uplinkTopic } from "./routes.ts";
import { cloudClientOptions, type LinkSettings } from "./settings.ts";

export interface LinkOptions {
  settings: LinkSettings;
  queue: MessageQueue;
  bus: Bus;
  log: Logger;
  clock: () => number;
  /** Messages per second of the backlog queued when a connection is made; 0: no limit. */
  drainRate: number;
  inflight: number;
  /** A publish not acknowledged within this ends the connection. */
  ackTimeoutMs: number;
  /** Work waiting and no acknowledgement for this long: reported as stalled. */
  stallMs: number;
  /** Local messages sent at once, ahead of the queue, while connected (the bridge's own reports). */
  isPriority?: (localTopic: string, payload: Uint8Array) => boolean;
  backoffMinMs: number;
  backoffMaxMs: number;
  keepaliveS: number;
  random?: () => number;
}

export interface LinkMetrics {
  connected: boolean;
  queue_depth: number;
  queue_bytes: number;
  /** Seconds since the oldest queued record was appended (0: empty). */
  queue_oldest_age_s: number;
  drops: number;
  drops_full: number;
  drops_disk: number;
  drops_corrupt: number;
  drops_compacted: number;
  corrupt_bytes: number;
  /** Records sent again after a connection was lost before their PUBACK (possible duplicates). */
  resent: number;
  stalled: boolean;
  /** The last write to the queue failed (disk full or disk error). */
  disk_error: boolean;
  reconnects: number;
  messages_sent: number;
  bytes_sent: number;
  messages_received: number;
}

/** Conditions the bridge raises alarms for; each change is logged once by the link. */
export interface LinkConditions {
  stalled: boolean;
  diskError?: string;
}

/** A stop says DISCONNECT and waits this long for the socket to flush, never longer. */
const STOP_MS = 250;
/** TCP, TLS and CONNACK, each within this. */
const CONNECT_TIMEOUT_MS = 15_000;

interface InFlight {
  seq: number;
  bytes: number;
  acked: boolean;
}

/**
 * One cloud connection. Uplink: local message → cloud topic → queue (synchronously, before the
 * local broker acknowledges the publisher) → sent in order with at most `inflight` unacknowledged;
 * what was queued when the connection was made (the backlog) at most `drainRate`/s, what arrives
 * after as fast as the cloud acknowledges → committed when every earlier one is acknowledged too. A missing PUBACK or a silent cloud ends the connection (liveness.ts). After a lost
 * connection everything uncommitted is sent again (at-least-once). Downlink: cloud message →
 * local topic, acknowledged to the cloud only once the local broker took it.
 *
 * The client's own reconnect and resend are off (each connection is a fresh client): the queue is
 * the single source of what still has to go, so nothing is sent twice by two mechanisms.
 */
export class CloudLink {
  private client?: MqttClient;
  /** Bumped per connection: acknowledgements of an older one are ignored. */
  private generation = 0;
  private connected = false;
  private everConnected = false;
  private stopped = true;
  private inflight: InFlight[] = [];
  private readonly priorityInFlight = new Set<QueuedMessage>();
  /** Records with a seq below this were queued when the connection was made: the backlog. */
  private backlogEnd = 0;
  private nextToSend = 0;
  private sub?: Subscription;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private pumpTimer?: ReturnType<typeof setTimeout>;
  private pumpScheduled = false;
  private lastError = "";
  /** Failed connection attempts since the last accepted one (the backoff step). */
  private attempt = 0;
  private readonly bucket: TokenBucket;
  private readonly liveness: Liveness;
  private livenessTimer?: ReturnType<typeof setInterval>;
  private stalled = false;
  private readError = "";
  private readonly counters = { reconnects: 0, messagesSent: 0, bytesSent: 0, received: 0, resent: 0 };

  constructor(private readonly o: LinkOptions) {
    this.bucket = new TokenBucket(o.drainRate, o.clock);
    this.liveness = new Liveness({
      ackTimeoutMs: o.ackTimeoutMs,
      keepaliveMs: o.keepaliveS * 1000,
      stallMs: o.stallMs,
    });
  }

  get name(): string {
    return this.o.settings.cloud;
  }

  async start(): Promise<void> {
    this.stopped = false;
    const { routes } = this.o.settings;
    this.sub = await this.o.bus.subscribe(
      routes.uplink.map((r) => r.local),
      (m) => this.onLocal(m),
      { qos: 1 },
    );
    this.connect();
    this.livenessTimer = setInterval(() => this.checkLiveness(), 1000);
    this.livenessTimer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.livenessTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pumpTimer);
    await this.sub?.unsubscribe();
    this.sub = undefined;
    const c = this.client;
    this.client = undefined;
    this.connected = false;
    this.generation++;
    if (c) await c.end(STOP_MS);
    this.o.queue.close();
  }

  conditions(): LinkConditions {
    return { stalled: this.stalled, diskError: this.o.queue.stats().diskError };
  }

  metrics(): LinkMetrics {
    const s = this.o.queue.stats();
    return {
      connected: this.connected,
      queue_depth: s.depth,
      queue_bytes: s.bytes,
      queue_oldest_age_s:
        s.oldestTime === undefined ? 0 : Math.max(0, Math.round((this.o.clock() - s.oldestTime) / 1000)),
      drops: s.drops,
      drops_full: s.dropped.full,
      drops_disk: s.dropped.disk,
      drops_corrupt: s.dropped.corrupt,
      drops_compacted: s.dropped.compacted,
      corrupt_bytes: s.corruptBytes,
      resent: this.counters.resent,
      stalled: this.stalled,
      disk_error: s.diskError !== undefined,
      reconnects: this.counters.reconnects,
      messages_sent: this.counters.messagesSent,
      bytes_sent: this.counters.bytesSent,
      messages_received: this.counters.received,
    };
  }

  private onLocal(m: BusMessage): void {
    // Retained messages replayed on subscribe were forwarded when first published.
    if (m.retain) return;
    const topic = uplinkTopic(this.o.settings.routes, m.topic);
    if (!topic) return;
    // A record the cloud cannot take would sit at the head of the queue forever.
    const bad = topicError(topic);
    if (bad) {
      this.o.log.error("message not forwarded: invalid cloud topic", { topic: m.topic, error: bad });
      return;
    }
    const msg = { topic, payload: m.payload, qos: 1 as const, retain: false };
    if (this.o.isPriority?.(m.topic, m.payload) && this.sendPriority(msg)) return;
    this.store(msg);
  }

  /** Queues a message for the cloud, in order behind everything stored before it. */
  private store(msg: QueuedMessage): void {
    // A message that cannot be stored is counted by the queue with its reason (full, disk), and
    // the queue logs each change of its disk state once.
    const seq = this.o.queue.append(msg);
    if (seq === undefined) return;
    this.schedulePump();
  }

  /**
   * The bridge's own metrics and alarms go out at once, ahead of any backlog, while the link is
   * up; one not acknowledged when the connection ends is queued like any other message.
   */
  private sendPriority(msg: QueuedMessage): boolean {
    const client = this.client;
    if (!client || !this.connected) return false;
    const gen = this.generation;
    this.priorityInFlight.add(msg);
    client.publish(msg.topic, msg.payload, { qos: 1 }).then(
      () => {
        if (gen === this.generation && this.priorityInFlight.delete(msg)) this.counters.messagesSent++;
      },
      // a lost connection: the close handler queues what is still in priorityInFlight
      () => {},
    );
    return true;
  }

  private checkLiveness(): void {
    const v = this.liveness.check(this.o.clock(), this.o.queue.stats().unsent > 0);
    if (v.stalled !== this.stalled) {
      this.stalled = v.stalled;
      if (v.stalled)
        this.o.log.warn("link stalled: connected but nothing acknowledged", {
          cloud: this.o.settings.where,
          queued: this.o.queue.stats().depth,
        });
      else this.o.log.info("link moving again", { cloud: this.o.settings.where });
    }
    if (v.reconnect && this.client && this.connected) {
      this.o.log.warn(`ending the connection: ${v.reconnect}`, { cloud: this.o.settings.where });
      // The offline handler rewinds and reconnects with backoff.
      this.client.drop(new Error(v.reconnect));
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const s = this.o.settings;
    const gen = ++this.generation;
    let handshakeDone = false;
    const client: MqttClient = new MqttClient(
      {
        ...cloudClientOptions(s),
        keepaliveS: this.o.keepaliveS,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        // Liveness ends a connection first, and says why; this only backs it up
        ackTimeoutMs: 2 * Math.max(this.o.ackTimeoutMs, this.o.keepaliveS * 1000),
        // the link keeps its own window (inflight) and sends its reports beside it
        inFlight: 65_535,
        log: this.o.log,
      },
      {
        onOpen: () => {
          handshakeDone = true;
        },
        onPacket: () => {
          if (gen === this.generation) this.liveness.received(this.o.clock());
        },
        onMessage: (p) => {
          const local = downlinkTopic(s.routes, p.topic);
          if (!local) return;
          this.counters.received++;
          this.o.bus.publish(local, p.payload, { qos: 1, retain: p.retain }).then(
            () => client.settle(p),
            (e: unknown) =>
              // No PUBACK: the cloud redelivers it on the next connection.
              this.o.log.error("cannot publish downlink message locally", { topic: local, error: e }),
          );
          return "later";
        },
        onConnect: () => this.onConnect(client, gen),
        onOffline: (e) => this.onOffline(e, gen, handshakeDone),
      },
    );
    this.client = client;
    // starts dialling; failures come through onOffline (the promise only says when the first CONNACK came)
    client.start().catch(() => {});
  }

  private onConnect(client: MqttClient, gen: number): void {
    if (gen !== this.generation) return;
    const s = this.o.settings;
    this.connected = true;
    if (this.everConnected) this.counters.reconnects++;
    this.everConnected = true;
    this.attempt = 0;
    this.lastError = "";
    this.liveness.connected(this.o.clock());
    this.o.log.info("connected", { cloud: s.where });
    const remote = s.routes.downlink.map((r) => r.remote);
    if (remote.length)
      client.subscribe(remote.map((filter) => ({ filter, qos: 1 as const }))).then(
        (granted) => {
          if (gen === this.generation && granted.some((rc) => rc >= 0x80))
            this.o.log.error("cloud refused the subscription", { topics: remote, granted });
        },
        (e: unknown) => {
          if (gen === this.generation)
            this.o.log.error("cloud refused the subscription", { topics: remote, error: e });
        },
      );
    this.inflight = [];
    this.o.queue.rewind();
    // What is queued now is the backlog, paced by drain_rate; what arrives from now on is live.
    this.backlogEnd = this.o.queue.stats().nextSeq;
    this.nextToSend = 0;
    this.schedulePump();
  }

  /** A connection attempt failed or the connection was lost: rewind, and try again with backoff. */
  private onOffline(e: Error | undefined, gen: number, handshakeDone: boolean): void {
    if (gen !== this.generation) return;
    const s = this.o.settings;
    if (this.connected) {
      this.o.log.warn("connection lost", {
        cloud: s.where,
        queued: this.o.queue.stats().depth,
        error: e?.message,
      });
    } else if (e) {
      const f = classify(e, s.where, handshakeDone, s.endpoint.tls);
      // The first failure of a series is a warning; repeats would flood the log during an outage.
      if (f.message !== this.lastError) this.o.log.warn(f.message);
      else this.o.log.debug(f.message);
      this.lastError = f.message;
    }
    this.connected = false;
    this.client = undefined;
    this.liveness.disconnected();
    this.counters.resent += this.inflight.length;
    this.inflight = [];
    this.o.queue.rewind();
    const unacked = [...this.priorityInFlight];
    this.priorityInFlight.clear();
    for (const msg of unacked) this.store(msg);
    if (this.stopped) return;
    const delay = backoffDelay(
      this.attempt++,
      { minMs: this.o.backoffMinMs, maxMs: this.o.backoffMaxMs },
      this.o.random,
    );
    this.o.log.debug("reconnecting", { cloud: s.where, in_ms: delay });
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private schedulePump(): void {
    if (this.pumpScheduled || !this.connected) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const client = this.client;
    if (!client || !this.connected) return;
    const gen = this.generation;
    while (this.inflight.length < this.o.inflight) {
      const waitMs = this.nextToSend < this.backlogEnd ? this.bucket.take() : 0;
      if (waitMs > 0) {
        clearTimeout(this.pumpTimer);
        this.pumpTimer = setTimeout(() => this.pump(), waitMs);
        return;
      }
      let e: ReturnType<MessageQueue["next"]>;
      try {
        e = this.o.queue.next();
        if (this.readError) this.o.log.info("queue readable again", { after: this.readError });
        this.readError = "";
      } catch (err) {
        // A disk read error: logged once, retried until it reads again.
        const msg = (err as Error).message;
        if (msg !== this.readError)
          this.o.log.error("queue read failed; retrying every second", { error: msg });
        this.readError = msg;
        this.bucket.refund();
        clearTimeout(this.pumpTimer);
        this.pumpTimer = setTimeout(() => this.pump(), 1000);
        return;
      }
      if (!e) {
        this.bucket.refund();
        return;
      }
      const item: InFlight = { seq: e.seq, bytes: e.payload.byteLength, acked: false };
      this.inflight.push(item);
      this.nextToSend = e.seq + 1;
      this.liveness.sent(e.seq, this.o.clock());
      // Resolves at the PUBACK for QoS 1, once written for QoS 0; rejects when the connection is
      // lost, and the offline handler rewinds the queue.
      client.publish(e.topic, e.payload, { qos: e.qos, retain: e.retain }).then(
        () => {
          if (gen === this.generation) this.onAck(item);
        },
        () => {},
      );
    }
  }

  private onAck(item: InFlight): void {
    item.acked = true;
    this.liveness.acked(item.seq, this.o.clock());
    let last: InFlight | undefined;
    while (this.inflight[0]?.acked) {
      last = this.inflight.shift()!;
      this.counters.messagesSent++;
      this.counters.bytesSent += last.bytes;
    }
    // This runs in a promise callback, where a throw would be an unhandled rejection.
    if (last) {
      try {
        this.o.queue.commit(last.seq);
      } catch (e) {
        this.o.log.error("queue commit failed; after a restart its records are sent again", { error: e });
      }
    }
    this.schedulePump();
  }
}
