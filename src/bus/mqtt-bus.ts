import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "../foundation/logger.ts";
import type { Bus, MessageHandler, PublishOptions, QoS, Subscription } from "./bus.ts";
import { filterError, matches, topicError } from "./topic-filter.ts";

export interface MqttBusOptions {
  host: string;
  port: number;
  clientId: string;
  /** 5 uses subscription identifiers so overlapping subscriptions each get one copy; aedes speaks 4. */
  protocolVersion: 4 | 5;
  username?: string;
  password?: string;
  will?: IClientOptions["will"];
  log: Logger;
}

interface Sub {
  filters: string[];
  handler: MessageHandler;
  /** Last payload per retained topic this handler has seen (see the dispatch below). */
  retained: Map<string, Buffer>;
}

/**
 * The bus over one MQTT connection, shared by all components of a process. Reconnects forever
 * with capped backoff; subscriptions are restored by mqtt.js (resubscribe) after a reconnect.
 */
export class MqttBus implements Bus {
  private readonly subs = new Set<Sub>();
  /** One broker subscription per distinct filter, each with its own MQTT 5 subscription identifier. */
  private readonly filterIds = new Map<string, number>();
  private nextId = 1;

  private constructor(
    readonly client: MqttClient,
    private readonly opts: MqttBusOptions,
  ) {
    client.on("message", (topic, payload, packet) => {
      const ids = packet.properties?.subscriptionIdentifier;
      for (const s of this.subs) {
        // A broker may send one copy per matching subscription: a handler takes only the copy that
        // carries its first matching filter, so it sees each message once.
        const own = firstMatch(s.filters, topic);
        if (own === undefined) continue;
        if (ids !== undefined) {
          const id = this.filterIds.get(own);
          if (id === undefined || !(Array.isArray(ids) ? ids.includes(id) : ids === id)) continue;
        }
        // The broker re-sends retained messages to every handler of a filter when another handler
        // subscribes to it, and after a reconnect: a handler skips state it already has.
        if (packet.retain) {
          if (s.retained.get(topic)?.equals(payload)) continue;
          s.retained.set(topic, payload);
        } else if (s.retained.has(topic)) s.retained.set(topic, payload);
        try {
          s.handler({ topic, payload, retain: packet.retain, qos: packet.qos as QoS });
        } catch (e) {
          opts.log.error("message handler failed", { topic, error: e });
        }
      }
    });
  }

  static async connect(opts: MqttBusOptions, waitMs = 10_000): Promise<MqttBus> {
    const client = mqtt.connect({
      host: opts.host,
      port: opts.port,
      clientId: opts.clientId,
      protocolVersion: opts.protocolVersion,
      username: opts.username || undefined,
      password: opts.password || undefined,
      will: opts.will,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: true,
    });
    const log = opts.log;
    let backoff = 1000;
    client.on("connect", () => {
      backoff = 1000;
      client.options.reconnectPeriod = backoff;
      log.debug("connected to local broker", { host: opts.host, port: opts.port });
    });
    client.on("offline", () =>
      log.warn("local broker unreachable, reconnecting", { host: opts.host, port: opts.port }),
    );
    client.on("reconnect", () => {
      backoff = Math.min(backoff * 2, 30_000);
      client.options.reconnectPeriod = backoff;
    });
    client.on("error", (e) => log.debug("local broker connection error", { error: e.message }));
    const bus = new MqttBus(client, opts);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.end(true);
        reject(new Error(`cannot reach the MQTT broker at ${opts.host}:${opts.port} within ${waitMs} ms`));
      }, waitMs);
      client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return bus;
  }

  async publish(topic: string, payload: string | Uint8Array, opts: PublishOptions = {}): Promise<void> {
    const err = topicError(topic);
    if (err) throw new Error(err);
    const buf =
      typeof payload === "string"
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    await this.client.publishAsync(topic, buf, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
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
    const v5 = this.opts.protocolVersion === 5;
    for (const f of list) {
      let id = this.filterIds.get(f);
      if (id === undefined) {
        id = this.nextId++;
        this.filterIds.set(f, id);
      }
      // A new handler needs the filter's retained messages, which the broker sends only on a
      // SUBSCRIBE: mqtt.js skips a filter it already has unless told to resubscribe.
      const qos = opts.qos ?? 1;
      await this.client.subscribeAsync(
        { [f]: { qos }, resubscribe: true } as unknown as Record<string, { qos: QoS }>,
        v5 ? { qos, properties: { subscriptionIdentifier: id } } : { qos },
      );
    }
    return {
      unsubscribe: async () => {
        this.subs.delete(sub);
        const stillUsed = new Set([...this.subs].flatMap((s) => s.filters));
        const drop = list.filter((f) => !stillUsed.has(f));
        for (const f of drop) this.filterIds.delete(f);
        if (drop.length && this.client.connected) await this.client.unsubscribeAsync(drop);
      },
    };
  }

  async withWill(
    clientId: string,
    will: { topic: string; payload: string; retain: boolean; qos: QoS },
  ): Promise<Bus> {
    return MqttBus.connect({ ...this.opts, clientId, will: { ...will, payload: Buffer.from(will.payload) } });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

function firstMatch(filters: string[], topic: string): string | undefined {
  for (const f of filters) if (matches(f, topic)) return f;
  return undefined;
}
