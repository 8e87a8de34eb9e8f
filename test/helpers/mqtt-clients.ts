/**
 * Three independent MQTT clients behind one small interface, for the broker conformance suite:
 * MQTT.js, Debian's python3-paho-mqtt (a child process driven over stdin/stdout) and ledge's own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import mqtt from "mqtt";
import { MqttClient as LedgeClient } from "../../src/bus/client/client.ts";
import type { Properties, QoS } from "../../src/bus/mqtt/packets.ts";
import { waitFor } from "./ports.ts";

export interface Got {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  properties?: {
    userProperties?: Record<string, string | string[]>;
    responseTopic?: string;
    correlationData?: Buffer;
    subscriptionIdentifier?: number | number[];
    messageExpiryInterval?: number;
  };
}

export interface ConnectOpts {
  clientId: string;
  clean?: boolean;
  version?: 4 | 5;
  will?: { topic: string; payload: string; qos: QoS; retain: boolean };
  keepalive?: number;
}

export interface TestClient {
  readonly kind: string;
  readonly got: Got[];
  readonly sessionPresent: boolean;
  subscribe(
    filter: string,
    qos: QoS,
    opts?: { noLocal?: boolean; retainAsPublished?: boolean; retainHandling?: 0 | 1 | 2; id?: number },
  ): Promise<void>;
  publish(
    topic: string,
    payload: string | Buffer,
    qos: QoS,
    retain?: boolean,
    properties?: Properties,
  ): Promise<void>;
  /** A clean DISCONNECT. */
  end(): Promise<void>;
  /** The socket closed without DISCONNECT (the will goes out). */
  kill(): Promise<void>;
}

export type ClientKind = "mqtt.js" | "paho" | "ledge";
export type Factory = (port: number, o: ConnectOpts) => Promise<TestClient>;

const mqttjs: Factory = async (port, o) => {
  const v = o.version ?? 4;
  const c = mqtt.connect({
    host: "127.0.0.1",
    port,
    clientId: o.clientId,
    clean: o.clean ?? true,
    protocolVersion: v,
    reconnectPeriod: 0,
    keepalive: o.keepalive ?? 60,
    ...(v === 5 && o.clean === false && { properties: { sessionExpiryInterval: 3600 } }),
    ...(o.will && { will: { ...o.will, payload: Buffer.from(o.will.payload) } }),
  });
  const got: Got[] = [];
  c.on("message", (topic, payload, packet) =>
    got.push({
      topic,
      payload,
      qos: packet.qos,
      retain: packet.retain,
      ...(packet.properties && { properties: packet.properties as Got["properties"] }),
    }),
  );
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    c.once("connect", (ack) => resolve(ack.sessionPresent));
    c.once("error", reject);
  });
  return {
    kind: `mqtt.js v${v}`,
    got,
    sessionPresent,
    subscribe: async (filter, qos, s = {}) => {
      const granted = await c.subscribeAsync(
        { [filter]: { qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling } } as never,
        s.id ? ({ properties: { subscriptionIdentifier: s.id } } as never) : undefined,
      );
      if ((granted[0]?.qos ?? 0x80) >= 0x80) throw new Error(`subscribe ${filter} refused`);
    },
    publish: async (topic, payload, qos, retain = false, properties) => {
      await c.publishAsync(topic, Buffer.from(payload), {
        qos,
        retain,
        ...(properties && { properties: toMqttJsProps(properties) }),
      });
    },
    end: () => c.endAsync(),
    kill: async () => {
      c.stream.destroy();
      await c.endAsync(true);
    },
  };
};

function toMqttJsProps(p: Properties): Record<string, unknown> {
  const out: Record<string, unknown> = { ...p };
  if (p.userProperties) out.userProperties = Object.fromEntries(p.userProperties);
  if (p.correlationData) out.correlationData = Buffer.from(p.correlationData);
  return out;
}

const ledge: Factory = async (port, o) => {
  const got: Got[] = [];
  let sessionPresent = false;
  const v = o.version ?? 5;
  const c = new LedgeClient(
    {
      host: "127.0.0.1",
      port,
      clientId: o.clientId,
      clean: o.clean ?? true,
      protocolVersion: v,
      reconnect: false,
      keepaliveS: o.keepalive ?? 60,
      ...(o.clean === false && v === 5 && { sessionExpiryS: 3600 }),
      ...(o.will && { will: { ...o.will, payload: Buffer.from(o.will.payload) } }),
    },
    {
      onConnect: (ack) => {
        sessionPresent = ack.sessionPresent;
      },
      onMessage: (p) => {
        const props = p.properties;
        got.push({
          topic: p.topic,
          payload: Buffer.from(p.payload),
          qos: p.qos,
          retain: p.retain,
          ...(props && {
            properties: {
              ...(props.userProperties && { userProperties: Object.fromEntries(props.userProperties) }),
              ...(props.responseTopic && { responseTopic: props.responseTopic }),
              ...(props.correlationData && { correlationData: Buffer.from(props.correlationData) }),
              ...(props.subscriptionIdentifiers && {
                subscriptionIdentifier:
                  props.subscriptionIdentifiers.length === 1
                    ? props.subscriptionIdentifiers[0]
                    : props.subscriptionIdentifiers,
              }),
              ...(props.messageExpiryInterval !== undefined && {
                messageExpiryInterval: props.messageExpiryInterval,
              }),
            },
          }),
        });
      },
    },
  );
  await c.start();
  return {
    kind: `ledge v${v}`,
    got,
    get sessionPresent() {
      return sessionPresent;
    },
    subscribe: async (filter, qos, s = {}) => {
      const codes = await c.subscribe(
        [
          {
            filter,
            qos,
            noLocal: s.noLocal ?? false,
            retainAsPublished: s.retainAsPublished ?? false,
            retainHandling: s.retainHandling ?? 0,
          },
        ],
        s.id ? { subscriptionIdentifiers: [s.id] } : undefined,
      );
      if (((codes as number[])[0] ?? 0x80) >= 0x80) throw new Error(`subscribe ${filter} refused`);
    },
    publish: async (topic, payload, qos, retain = false, properties) => {
      await c.publish(topic, Buffer.from(payload), { qos, retain, ...(properties && { properties }) });
    },
    end: () => c.end(),
    kill: async () => {
      (c as unknown as { conn?: { destroy(): void } }).conn?.destroy();
      await c.end(10);
    },
  };
};

const PAHO = join(import.meta.dirname, "paho-client.py");

const paho: Factory = async (port, o) => {
  const proc: ChildProcess = spawn("/usr/bin/python3", [PAHO], { stdio: ["pipe", "pipe", "inherit"] });
  const events: Record<string, unknown>[] = [];
  const got: Got[] = [];
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const e = JSON.parse(line) as Record<string, unknown>;
    if (e.ev === "message")
      got.push({
        topic: e.topic as string,
        payload: Buffer.from(e.payload as string, "base64"),
        qos: e.qos as number,
        retain: e.retain as boolean,
      });
    else events.push(e);
  });
  const send = (cmd: object) => proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
  const next = async (ev: string, match: (e: Record<string, unknown>) => boolean = () => true) => {
    const e = await waitFor(`paho ${ev}`, () => events.find((x) => x.ev === ev && match(x)), 10_000);
    events.splice(events.indexOf(e), 1);
    return e;
  };
  send({
    op: "connect",
    host: "127.0.0.1",
    port,
    clientId: o.clientId,
    clean: o.clean ?? true,
    version: 4,
    keepalive: o.keepalive ?? 60,
    ...(o.will && { will: { ...o.will, payload: Buffer.from(o.will.payload).toString("base64") } }),
  });
  const ack = await next("connack");
  if (ack.rc !== 0) throw new Error(`paho connect refused: ${ack.rc}`);
  const done = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once("exit", () => resolve());
      proc.stdin?.end();
    });
  return {
    kind: "paho 3.1.1",
    got,
    sessionPresent: ack.sessionPresent as boolean,
    subscribe: async (filter, qos) => {
      send({ op: "subscribe", filter, qos });
      const { mid } = await next("subscribing");
      const sa = await next("suback", (e) => e.mid === mid);
      if (((sa.granted as number[])[0] ?? 0x80) >= 0x80) throw new Error(`subscribe ${filter} refused`);
    },
    publish: async (topic, payload, qos, retain = false) => {
      send({ op: "publish", topic, payload: Buffer.from(payload).toString("base64"), qos, retain });
      const { mid } = await next("publishing");
      await next("published", (e) => e.mid === mid);
    },
    end: async () => {
      send({ op: "disconnect" });
      await next("bye");
      await done();
    },
    kill: async () => {
      send({ op: "kill" });
      await next("bye");
      await done();
    },
  };
};

export const CLIENTS: Record<ClientKind, Factory> = { "mqtt.js": mqttjs, paho, ledge };
