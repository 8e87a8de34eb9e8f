/**
 * ledge's MQTT 3.1.1/5.0 client on its own codec and socket layer. One connection at a time,
 * re-established with backoff and jitter after a loss; the session state (session.ts) outlives
 * connections. Nothing is waited on without a bound: CONNACK within `connectTimeoutMs`, every ack
 * and PINGRESP within `ackTimeoutMs` (else the connection is dropped and re-made), and `end`
 * within its own timeout.
 */
import {
  type Ack,
  type Connack,
  Decoder,
  encode,
  type Packet,
  type Properties,
  type Publish,
  type QoS,
  type SubscriptionRequest,
} from "../mqtt/index.ts";
import { type Conn, type ConnEvents, HIGH_WATER } from "../net/net.ts";
import { selectNet } from "../net/select.ts";
import { backoffDelay } from "./backoff.ts";
import { connackError, ReasonCodeError } from "./errors.ts";
import { type ClientOptions, type Settings, settings } from "./options.ts";
import { type Outcome, type Pending, Session } from "./session.ts";
import { Subscriptions } from "./subscriptions.ts";
import { TopicAliases } from "./topic-aliases.ts";

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

export interface ClientEvents {
  /**
   * A message. Return `"later"` to keep it un-acknowledged until `settle(p)` (a consumer whose
   * handler is not there yet); the ack of anything not settled before the connection ends is
   * dropped, so the broker sends the message again.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing is acked at once
  onMessage?(p: Publish): void | "later";
  onConnect?(connack: Connack): void;
  /** The socket is up (with TLS: the handshake verified) and CONNECT is on its way. */
  onOpen?(): void;
  /** Any packet from the broker, before it is handled (a sign of life: PINGRESP, acks, ...). */
  onPacket?(p: Packet): void;
  /** The connection was lost (or a connect attempt failed); the client retries unless stopped. */
  onOffline?(error: Error | undefined): void;
}

type State = "idle" | "connecting" | "connected" | "waiting" | "stopped";

const NO_SUBSCRIBERS = 0x10;

export class MqttClient {
  readonly opts: Settings;
  readonly session: Session;
  readonly subs: Subscriptions;
  private state: State = "idle";
  private conn: Conn | undefined;
  /** Abandons the connect under way (TCP or TLS handshake) when the client stops. */
  private dialing: AbortController | undefined;
  private decoder: Decoder | undefined;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private tickTimer: ReturnType<typeof setTimeout> | undefined;
  private connackTimer: ReturnType<typeof setTimeout> | undefined;
  private lastWrite = 0;
  private pingSentAt: number | undefined;
  /** The socket took less than offered: stop handing out queued publishes until it drains. */
  private blocked = false;
  private keepaliveS: number;
  private maxPacketSize = Number.POSITIVE_INFINITY;
  private waiters: Pending<void>[] = [];
  private closeWaiters: (() => void)[] = [];
  private lastError: Error | undefined;
  private readonly parked = new Map<Publish, { ack: Ack; conn: Conn | undefined }>();
  /** Packets written in this turn of the event loop, handed to the socket together by `flush`. */
  private out: Uint8Array[] = [];
  private outBytes = 0;
  private flushQueued = false;
  /** Outbound topic aliases of the current connection (v5 with `topicAliases`). */
  private readonly aliases: TopicAliases | undefined;

  constructor(
    options: ClientOptions,
    private readonly events: ClientEvents = {},
  ) {
    this.opts = settings(options);
    this.keepaliveS = this.opts.keepaliveS;
    this.session = new Session(this.opts.inFlight, this.opts.maxQueued);
    this.subs = new Subscriptions(this.session.ids, (p) => this.send(p));
    if (this.opts.topicAliases && this.version === 5) this.aliases = new TopicAliases();
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  /** A getter, so TypeScript does not narrow `state` across an await. */
  private get stopped(): boolean {
    return this.state === "stopped";
  }

  get version(): 4 | 5 {
    return this.opts.protocolVersion;
  }

  /**
   * Starts connecting (and, with `reconnect`, keeps the connection up until `end`). Resolves at the
   * first CONNACK that accepts; rejects when that takes longer than `waitMs`, or on the first
   * failure when `reconnect` is off.
   */
  async start(waitMs = this.opts.connectTimeoutMs): Promise<void> {
    if (this.state === "idle") void this.dial();
    if (this.state === "connected") return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = this.ready();
    try {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const why = this.lastError ? `: ${this.lastError.message}` : "";
            reject(new Error(`cannot reach the MQTT broker at ${this.where()} within ${waitMs} ms${why}`));
          }, waitMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves at the next accepted CONNACK (at once when connected); rejects when the client stops. */
  ready(): Promise<void> {
    if (this.state === "connected") return Promise.resolve();
    if (this.state === "stopped") return Promise.reject(new Error("MQTT client stopped"));
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Publishes; resolves when done: for QoS 0 once written, for QoS 1/2 at the broker's ack. While
   * disconnected, messages wait in the session queue (bounded) and go out after the reconnect. A v5
   * ack with a reason code ≥ 0x80 rejects with a `ReasonCodeError`.
   */
  publish(topic: string, payload: Uint8Array, o: PublishOptions = {}): Promise<Outcome> {
    if (this.state === "stopped") return Promise.reject(new Error("MQTT client stopped"));
    const msg = { topic, payload, qos: o.qos ?? 0, retain: o.retain ?? false, properties: o.properties };
    // only a v5 broker announces a limit; encoding twice is paid only then
    if (this.state === "connected" && Number.isFinite(this.maxPacketSize)) {
      const size = encode(
        { type: "publish", ...msg, dup: false, packetId: msg.qos ? 1 : undefined },
        this.version,
      ).byteLength;
      if (size > this.maxPacketSize)
        return Promise.reject(
          new Error(
            `publish of ${size} bytes exceeds the broker's maximum packet size ${this.maxPacketSize}`,
          ),
        );
    }
    return new Promise<Outcome>((resolve, reject) => {
      this.session.enqueue(msg, { resolve, reject });
      this.pump();
    });
  }

  /** Subscribes (and re-subscribes after a reconnect that lost the session). Resolves with the granted QoS / reason codes. */
  subscribe(requests: (Partial<SubscriptionRequest> & { filter: string })[], properties?: Properties) {
    if (this.state === "stopped") return Promise.reject(new Error("MQTT client stopped"));
    const full = requests.map((r) => ({
      qos: 0 as QoS,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0 as const,
      ...r,
    }));
    return this.subs.subscribe(full, properties, this.state === "connected", Date.now());
  }

  unsubscribe(filters: string[]): Promise<number[]> {
    if (this.state === "stopped") return Promise.reject(new Error("MQTT client stopped"));
    return this.subs.unsubscribe(filters, this.state === "connected", Date.now());
  }

  /**
   * Stops: no more reconnects; when connected, a DISCONNECT goes out and the socket is flushed,
   * waiting at most `timeoutMs` for that; then whatever is left is dropped and every pending
   * publish/subscribe rejects. Never waits on a broker that is gone beyond the bound.
   */
  async end(timeoutMs = 1000): Promise<void> {
    if (this.state === "stopped") return;
    const wasConnected = this.state === "connected";
    this.state = "stopped";
    clearTimeout(this.reconnectTimer);
    this.clearTimers();
    this.dialing?.abort();
    const conn = this.conn;
    if (conn) {
      const closed = new Promise<void>((r) => this.closeWaiters.push(r));
      if (wasConnected) this.write({ type: "disconnect", reasonCode: 0 });
      this.flush();
      conn.end();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
      conn.destroy();
    }
    const stopped = new Error("MQTT client stopped");
    this.session.failAll(stopped);
    this.subs.failAll(stopped);
    for (const w of this.waiters.splice(0)) w.reject(stopped);
  }

  // ---- connection lifecycle

  private where(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  private async dial(): Promise<void> {
    this.state = "connecting";
    const events: ConnEvents = {
      onData: (chunk) => this.onData(chunk),
      onDrain: () => {
        this.blocked = false;
        this.pump();
      },
      onClose: (error) => this.onClose(error),
    };
    let conn: Conn;
    const dialing = new AbortController();
    this.dialing = dialing;
    try {
      const net = this.opts.net ?? (await selectNet());
      conn = await net.connect(
        {
          host: this.opts.host,
          port: this.opts.port,
          tls: this.opts.tls,
          timeoutMs: this.opts.connectTimeoutMs,
          signal: dialing.signal,
        },
        events,
      );
    } catch (e) {
      if (this.stopped) return;
      return this.lost(e as Error);
    } finally {
      if (this.dialing === dialing) this.dialing = undefined;
    }
    if (this.stopped) return conn.destroy();
    this.conn = conn;
    this.blocked = false;
    this.pingSentAt = undefined;
    this.decoder = new Decoder({ version: this.version });
    const o = this.opts;
    const v5 = this.version === 5;
    const properties: Properties | undefined = v5
      ? {
          ...o.properties,
          ...(o.clean ? {} : { sessionExpiryInterval: o.sessionExpiryS ?? 0xffffffff }),
        }
      : undefined;
    this.write({
      type: "connect",
      protocolVersion: this.version,
      clientId: o.clientId,
      clean: o.clean,
      keepalive: o.keepaliveS,
      username: o.username || undefined,
      password: o.password ? new TextEncoder().encode(o.password) : undefined,
      will: o.will,
      properties: properties && Object.keys(properties).length ? properties : undefined,
    });
    this.events.onOpen?.();
    this.connackTimer = setTimeout(
      () => this.drop(new Error(`no CONNACK from ${this.where()} within ${o.connectTimeoutMs} ms`)),
      o.connectTimeoutMs,
    );
  }

  private onConnack(p: Connack): void {
    clearTimeout(this.connackTimer);
    if (p.reasonCode !== 0) {
      const error = connackError(this.version, p.reasonCode, p.properties?.reasonString);
      this.drop(error);
      return;
    }
    this.state = "connected";
    this.attempt = 0;
    this.lastError = undefined;
    const props = p.properties;
    this.session.window = Math.min(this.opts.inFlight, props?.receiveMaximum ?? 65_535);
    this.keepaliveS = props?.serverKeepAlive ?? this.opts.keepaliveS;
    this.maxPacketSize = props?.maximumPacketSize ?? Number.POSITIVE_INFINITY;
    this.aliases?.reset(props?.topicAliasMaximum ?? 0);
    const now = Date.now();
    // the broker lost (or never had) our session: its subscriptions must be made again
    if (!p.sessionPresent) this.subs.restore(now);
    for (const packet of this.session.resume(now)) this.write(packet);
    this.subs.resend(now);
    this.armTick();
    this.events.onConnect?.(p);
    for (const w of this.waiters.splice(0)) w.resolve();
    this.pump();
  }

  /**
   * Ends this connection at once, as a lost one (timeout, protocol error, refusal, or a caller that
   * judged the broker dead): `onOffline` gets `error`, and the client reconnects when `reconnect` is on.
   */
  drop(error: Error): void {
    this.lastError = error;
    this.conn?.destroy();
  }

  private onClose(error?: Error): void {
    const why = this.lastError ?? error;
    this.conn = undefined;
    this.decoder = undefined;
    this.parked.clear(); // the broker sends those again on the next connection
    this.out = [];
    this.outBytes = 0;
    this.clearTimers();
    for (const r of this.closeWaiters.splice(0)) r();
    if (this.state === "stopped") return;
    this.lost(why ?? new Error(`connection to ${this.where()} closed`));
  }

  private lost(error: Error): void {
    this.lastError = error;
    this.state = "waiting";
    this.events.onOffline?.(error);
    if (!this.opts.reconnect) {
      this.state = "stopped";
      this.session.failAll(error);
      this.subs.failAll(error);
      for (const w of this.waiters.splice(0)) w.reject(error);
      return;
    }
    const delay = backoffDelay(this.attempt++, this.opts.backoff);
    this.reconnectTimer = setTimeout(() => {
      if (this.state === "waiting") void this.dial();
    }, delay);
  }

  private clearTimers(): void {
    clearTimeout(this.tickTimer);
    clearTimeout(this.connackTimer);
    this.tickTimer = undefined;
  }

  // ---- timers: keepalive and ack deadlines, one timer per client

  private armTick(): void {
    const every = Math.max(
      10,
      Math.min(1000, this.opts.ackTimeoutMs / 4, this.keepaliveS > 0 ? (this.keepaliveS * 1000) / 4 : 1000),
    );
    this.tickTimer = setTimeout(() => this.tick(), every);
    this.tickTimer.unref?.();
  }

  private tick(): void {
    if (this.state !== "connected") return;
    const now = Date.now();
    const limit = this.opts.ackTimeoutMs;
    const overdue = (t: number | undefined) => t !== undefined && now - t > limit;
    const late = overdue(this.pingSentAt)
      ? "PINGRESP"
      : overdue(this.session.oldestSentAt())
        ? "PUBACK/PUBREC/PUBCOMP"
        : overdue(this.subs.oldestSentAt())
          ? "SUBACK/UNSUBACK"
          : undefined;
    if (late) {
      this.drop(new Error(`no ${late} within ${limit} ms`));
      return;
    }
    if (
      this.keepaliveS > 0 &&
      this.pingSentAt === undefined &&
      now - this.lastWrite >= this.keepaliveS * 1000
    ) {
      this.pingSentAt = now;
      this.write({ type: "pingreq" });
    }
    this.armTick();
  }

  // ---- reading

  private onData(chunk: Uint8Array): void {
    const decoder = this.decoder;
    if (!decoder) return;
    const { packets, error } = decoder.push(chunk);
    for (const p of packets) {
      if (this.conn === undefined) return;
      this.handle(p);
    }
    if (error) this.drop(error);
  }

  private handle(p: Packet): void {
    this.events.onPacket?.(p);
    if (this.state === "connecting") {
      if (p.type === "connack") this.onConnack(p);
      else this.drop(new Error(`expected CONNACK, got ${p.type.toUpperCase()}`));
      return;
    }
    switch (p.type) {
      case "publish":
        this.onPublish(p);
        return;
      case "puback":
      case "pubrec":
      case "pubcomp":
        this.onAck(p);
        return;
      case "pubrel":
        this.write(this.session.release(p.packetId));
        return;
      case "suback":
      case "unsuback":
        this.subs.acked(p);
        return;
      case "pingresp":
        this.pingSentAt = undefined;
        return;
      case "disconnect": {
        const reason = p.properties?.reasonString;
        this.lastError = new ReasonCodeError(p.reasonCode, "disconnected by the broker", reason);
        return;
      }
      default:
        this.drop(new Error(`unexpected ${p.type.toUpperCase()} from the broker`));
    }
  }

  private onPublish(p: Publish): void {
    const { deliver, ack } = this.session.incoming(p);
    let later = false;
    if (deliver) {
      try {
        later = this.events.onMessage?.(p) === "later";
      } catch (e) {
        this.opts.log?.error("message handler failed", { topic: p.topic, error: e });
      }
    }
    if (!ack) return;
    if (later) this.parked.set(p, { ack, conn: this.conn });
    else for (const a of this.session.holdAck(ack)) this.write(a);
  }

  /** Acknowledges a message `onMessage` answered `"later"` for (nothing if its connection is gone). */
  settle(p: Publish): void {
    const parked = this.parked.get(p);
    if (!parked) return;
    this.parked.delete(p);
    if (parked.conn === this.conn) for (const a of this.session.holdAck(parked.ack)) this.write(a);
  }

  private onAck(p: Ack): void {
    const { finished, reply } = this.session.ack(p, Date.now());
    if (reply) this.write(reply);
    if (finished) {
      const { done, outcome } = finished;
      if (outcome.reasonCode >= 0x80 && outcome.reasonCode !== NO_SUBSCRIBERS)
        done.reject(
          new ReasonCodeError(outcome.reasonCode, "publish refused", outcome.properties?.reasonString),
        );
      else done.resolve(outcome);
      for (const a of this.session.releasable()) this.write(a);
    }
    this.pump();
  }

  // ---- writing

  /** Hands queued publishes to the socket while the window and the socket take them. */
  private pump(): void {
    while (this.state === "connected" && !this.blocked) {
      const next = this.session.takeOne(Date.now());
      if (!next) return;
      this.write(next.packet);
      // QoS 0 is done once handed over
      if (next.done) next.done.resolve({ reasonCode: 0 });
    }
  }

  private send(p: Packet): void {
    if (this.state === "connected") this.write(p);
  }

  private write(p: Packet): void {
    const conn = this.conn;
    if (!conn) return;
    // aliases are given in the order packets go out, so a resent PUBLISH sets its own again
    if (p.type === "publish" && this.aliases) p = this.aliased(p);
    this.lastWrite = Date.now();
    const bytes = encode(p, this.version);
    this.out.push(bytes);
    this.outBytes += bytes.byteLength;
    if (this.outBytes >= HIGH_WATER) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
  }

  /**
   * Hands what was written since the last flush to the socket in one piece: a burst of publishes
   * (a window's worth, a backlog) costs one send, not one per packet; a burst that reaches the
   * high-water mark goes at once, so `blocked` still stops the pump in time.
   */
  private flush(): void {
    const conn = this.conn;
    const out = this.out;
    if (out.length === 0) return;
    const size = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    if (!conn) return;
    let data = out[0] as Uint8Array;
    if (out.length > 1) {
      data = new Uint8Array(size);
      let at = 0;
      for (const b of out) {
        data.set(b, at);
        at += b.byteLength;
      }
    }
    if (!conn.write(data)) this.blocked = true;
  }

  private aliased(p: Publish): Publish {
    const a = (this.aliases as TopicAliases).apply(p.topic);
    if (a.alias === undefined) return p;
    return { ...p, topic: a.topic, properties: { ...p.properties, topicAlias: a.alias } };
  }
}
