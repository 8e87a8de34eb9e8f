import type { Logger } from "../foundation/logger.ts";
import type { Bus, MessageHandler, PublishOptions, QoS, Subscription } from "./bus.ts";
import { MqttClient } from "./client/client.ts";
import { ReasonCodeError } from "./client/errors.ts";
import type { Publish, Will } from "./mqtt/index.ts";
import type { ClientTls, Net } from "./net/net.ts";
import { asBuffer } from "./payload.ts";
import { filterError, matches, topicError } from "./topic-filter.ts";

export interface MqttBusOptions {
  host: string;
  port: number;
  clientId: string;
  /** 5 uses subscription identifiers so overlapping subscriptions each get one copy. */
  protocolVersion: 4 | 5;
  username?: string;
  password?: string;
  tls?: ClientTls;
  will?: Will;
  /**
   * For a component in its own process: a persistent session (clean session 0 / v5 session
   * expiry `SESSION_EXPIRY_S`) under a stable `clientId`, and every publish at QoS 1 at least, so
   * that killing this process or the broker's loses nothing: the broker queues what arrives while
   * the component is away, the client re-sends what the broker has not acknowledged, and an
   * incoming message is acknowledged only after what the component published meanwhile is.
   */
  persistent?: boolean;
  /** Ack and PINGRESP deadline (see `ClientOptions.ackTimeoutMs`). */
  ackTimeoutMs?: number;
  net?: Net;
  log: Logger;
}

/** How long a broker keeps a persistent component session while the component is down (v5). */
export const SESSION_EXPIRY_S = 7 * 24 * 3600;

/**
 * A resumed session's queued messages arrive right after CONNACK, before the process's components
 * have subscribed: for this long after connecting, a message no handler takes yet is kept (up to
 * `EARLY_MAX`, un-acknowledged) and handed to the first handler that subscribes to it.
 */
export const EARLY_MS = 10_000;
export const EARLY_MAX = 10_000;

interface Sub {
  filters: string[];
  handler: MessageHandler;
  /** Last payload per retained topic this handler has seen (see the dispatch below). */
  retained: Map<string, Buffer>;
}

/**
 * The bus over one MQTT connection (ledge's own client), shared by all components of a process.
 * Reconnects forever with capped backoff and jitter; subscriptions come back after a reconnect
 * (re-made by the client when the broker kept no session).
 */
export class MqttBus implements Bus {
  private readonly subs = new Set<Sub>();
  /** One broker subscription per distinct filter, each with its own MQTT 5 subscription identifier. */
  private readonly filterIds = new Map<string, number>();
  private nextId = 1;
  /** Numbers the connections of `retainedTopics`, whose client ids must not collide. */
  private scans = 0;
  /** Every identifier this bus has used (an old one may still be on a message in flight). */
  private readonly idsInUse = new Set<number>();
  readonly client: MqttClient;
  /** Messages that arrived before any handler for them (see `EARLY_MS`), and who got each since. */
  private early: { p: Publish; took: Set<Sub> }[] = [];
  private earlyUntil = 0;
  private earlyTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(private readonly opts: MqttBusOptions) {
    const log = opts.log;
    this.client = new MqttClient(
      {
        ...clientOptions(opts),
        will: opts.will,
        clean: !opts.persistent,
        sessionExpiryS: opts.persistent ? SESSION_EXPIRY_S : undefined,
        backoff: { minMs: 250, maxMs: 30_000 },
      },
      {
        onMessage: (p) => this.dispatch(p),
        onConnect: (c) => {
          log.debug("connected to local broker", {
            host: opts.host,
            port: opts.port,
            session: c.sessionPresent,
          });
          if (c.sessionPresent) this.openEarlyWindow();
        },
        onOffline: (e) => {
          this.early = []; // un-acknowledged: the broker sends them again
          log.warn("local broker unreachable, reconnecting", {
            host: opts.host,
            port: opts.port,
            error: e?.message,
          });
        },
      },
    );
  }

  static async connect(opts: MqttBusOptions, waitMs = 10_000): Promise<MqttBus> {
    const bus = new MqttBus(opts);
    try {
      await bus.client.start(waitMs);
    } catch (e) {
      await bus.client.end(0);
      throw e;
    }
    return bus;
  }

  private openEarlyWindow(): void {
    this.earlyUntil = Date.now() + EARLY_MS;
    clearTimeout(this.earlyTimer);
    this.earlyTimer = setTimeout(() => {
      // nobody subscribed to these (a filter left in the session by an older configuration)
      const untaken = this.early.filter((e) => e.took.size === 0);
      for (const { p } of untaken) this.client.settle(p);
      if (untaken.length) this.opts.log.debug("dropped messages no handler took", { count: untaken.length });
      this.early = [];
    }, EARLY_MS);
    this.earlyTimer.unref?.();
  }

  // biome-ignore lint/suspicious/noConfusingVoidType: the client's onMessage contract
  private dispatch(p: Publish): void | "later" {
    let taken = false;
    for (const s of this.subs) if (this.deliver(p, s)) taken = true;
    if (taken) return;
    if (Date.now() >= this.earlyUntil || this.early.length >= EARLY_MAX) {
      this.opts.log.debug("no handler took a message", {
        topic: p.topic,
        ids: p.properties?.subscriptionIdentifiers,
      });
      return;
    }
    this.early.push({ p, took: new Set() });
    return "later";
  }

  /** Hands the early messages a new handler matches to it; the first hand-over acknowledges them. */
  private replayEarly(s: Sub): void {
    for (const e of this.early) {
      if (e.took.has(s) || firstMatch(s.filters, e.p.topic) === undefined) continue;
      e.took.add(s);
      this.deliver(e.p, s, true);
      if (e.took.size === 1) this.client.settle(e.p);
    }
  }

  /** Whether `s` takes `p` (and if so, hands it over). */
  private deliver(p: Publish, s: Sub, replay = false): boolean {
    const { topic } = p;
    // A broker may send one copy per matching subscription: a handler takes only the copy that
    // carries its first matching filter, so it sees each message once.
    const own = firstMatch(s.filters, topic);
    if (own === undefined) return false;
    const ids = p.properties?.subscriptionIdentifiers;
    // Identifiers this process never handed out were stamped on a message queued for the session
    // under a previous process's subscriptions: then the filter alone decides.
    if (ids !== undefined && !replay && ids.some((id) => this.idsInUse.has(id))) {
      const id = this.filterIds.get(own);
      if (id === undefined || !ids.includes(id)) return false;
    }
    const payload = asBuffer(p.payload);
    // The broker re-sends retained messages to every handler of a filter when another handler
    // subscribes to it, and after a reconnect: a handler skips state it already has.
    if (p.retain) {
      if (s.retained.get(topic)?.equals(payload)) return true;
      s.retained.set(topic, payload);
    } else if (s.retained.has(topic)) s.retained.set(topic, payload);
    try {
      s.handler({ topic, payload, retain: p.retain, qos: p.qos });
    } catch (e) {
      this.opts.log.error("message handler failed", { topic, error: e });
    }
    return true;
  }

  async publish(topic: string, payload: string | Uint8Array, opts: PublishOptions = {}): Promise<void> {
    const err = topicError(topic);
    if (err) throw new Error(err);
    const bytes = typeof payload === "string" ? Buffer.from(payload) : payload;
    const qos = this.opts.persistent ? (Math.max(1, opts.qos ?? 0) as QoS) : (opts.qos ?? 0);
    await this.client.publish(topic, bytes, { qos, retain: opts.retain ?? false });
  }

  async subscribe(
    filters: string | string[],
    handler: MessageHandler,
    opts: { qos?: QoS } = {},
  ): Promise<Subscription> {
    const list = Array.isArray(filters) ? filters : [filters];
    for (const f of list) {
      const err = filterError(f);
      if (err) throw new Error(err);
    }
    const sub: Sub = { filters: list, handler, retained: new Map() };
    this.subs.add(sub);
    this.replayEarly(sub);
    const v5 = this.opts.protocolVersion === 5;
    const qos = opts.qos ?? 1;
    for (const f of list) {
      let id = this.filterIds.get(f);
      if (id === undefined) {
        id = this.nextId++;
        this.filterIds.set(f, id);
        this.idsInUse.add(id);
      }
      // Always a SUBSCRIBE, even for a filter already subscribed: a new handler needs the
      // filter's retained messages, which the broker sends only then [MQTT-3.3.1-6].
      const [code = 0x80] = await this.client.subscribe(
        [{ filter: f, qos }],
        v5 ? { subscriptionIdentifiers: [id] } : undefined,
      );
      if (code >= 0x80) {
        this.subs.delete(sub);
        throw new ReasonCodeError(code, `subscribe to '${f}' refused`);
      }
    }
    return {
      unsubscribe: async () => {
        this.subs.delete(sub);
        const stillUsed = new Set([...this.subs].flatMap((s) => s.filters));
        const drop = list.filter((f) => !stillUsed.has(f));
        for (const f of drop) this.filterIds.delete(f);
        if (!drop.length) return;
        const done = this.client.unsubscribe(drop);
        // while disconnected the UNSUBSCRIBE goes out after the reconnect; nobody waits for it
        if (this.client.connected) await done;
        else done.catch(() => {});
      },
    };
  }

  /**
   * A connection of its own (clean session, no reconnect), so the retained messages its SUBSCRIBE
   * brings reach no handler of this bus: on a shared connection they would be delivered, flagged
   * retained, to every overlapping handler (in 3.1.1 nothing tells whose subscription they answer).
   * QoS 0 throughout, so nothing waits in an in-flight window; the UNSUBACK that follows marks the
   * end, since a broker writes the retained messages of a SUBSCRIBE before it answers the next
   * packet (mosquitto, ledge's broker unless the socket is backed up: hence "ask again").
   */
  async retainedTopics(filters: string[]): Promise<string[]> {
    for (const f of filters) {
      const err = filterError(f);
      if (err) throw new Error(err);
    }
    if (filters.length === 0) return [];
    const found = new Set<string>();
    const client = new MqttClient(
      {
        ...clientOptions(this.opts),
        clientId: `${this.opts.clientId}-scan${this.scans++}`,
        reconnect: false,
      },
      {
        onMessage: (p) => {
          if (p.retain && p.payload.length > 0) found.add(p.topic);
        },
      },
    );
    try {
      await client.start();
      const codes = await client.subscribe(filters.map((filter) => ({ filter, qos: 0 })));
      const refused = codes.findIndex((c) => c >= 0x80);
      if (refused >= 0)
        throw new ReasonCodeError(codes[refused] ?? 0x80, `subscribe to '${filters[refused]}' refused`);
      await client.unsubscribe(filters);
    } finally {
      await client.end(1000);
    }
    return [...found];
  }

  async withWill(
    clientId: string,
    will: { topic: string; payload: string; retain: boolean; qos: QoS },
  ): Promise<Bus> {
    // a will-only connection: a clean session (its id changes with the process)
    return MqttBus.connect({
      ...this.opts,
      clientId,
      persistent: false,
      will: { ...will, payload: Buffer.from(will.payload) },
    });
  }

  /** Bounded: a broker that is gone costs at most a second. */
  async close(): Promise<void> {
    clearTimeout(this.earlyTimer);
    await this.client.end(1000);
  }
}

/** What every connection of this bus shares: where, who, which protocol. */
function clientOptions(o: MqttBusOptions) {
  return {
    host: o.host,
    port: o.port,
    tls: o.tls,
    clientId: o.clientId,
    protocolVersion: o.protocolVersion,
    username: o.username,
    password: o.password,
    keepaliveS: 30,
    ackTimeoutMs: o.ackTimeoutMs,
    net: o.net,
    log: o.log,
  };
}

function firstMatch(filters: string[], topic: string): string | undefined {
  for (const f of filters) if (matches(f, topic)) return f;
  return undefined;
}
