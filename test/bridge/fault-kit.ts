/**
 * Helpers of the bridge fault suite: a plain MQTT cloud (mosquitto) with an observer that collects
 * numbered messages, a ledge whose bridge metrics and alarms are watched, the exact accounting
 * check, and a tiny MQTT 3.1.1 server that accepts connections but can refuse to acknowledge.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";
import { client, type Ledge } from "./harness.ts";

export const PREFIX = "fault";
export const TOPIC = `${PREFIX}/m`;

export interface Cloud {
  broker: Mosquitto;
  /** Distinct numbers received, and every arrival (duplicates included). */
  got: Set<number>;
  arrivals: number;
  stop(): Promise<void>;
}

export async function plainCloud(): Promise<Cloud> {
  const broker = await startMosquitto();
  const observer = await client(broker.port, {
    clientId: "fault-observer",
    clean: false,
    reconnectPeriod: 50,
  });
  const cloud: Cloud = {
    broker,
    got: new Set(),
    arrivals: 0,
    stop: async () => {
      await observer.endAsync(true);
      await broker.stop();
    },
  };
  observer.on("message", (topic, p) => {
    if (topic !== TOPIC) return;
    cloud.arrivals++;
    cloud.got.add(Number(p.toString().split(",")[0]));
  });
  await observer.subscribeAsync(TOPIC, { qos: 1 });
  return cloud;
}

export const cloudSettings = (port: number, extra: Record<string, string | number | boolean> = {}) => ({
  "device.id": "fault-dev",
  "mqtt.cloud.url": `mqtt://127.0.0.1:${port}`,
  "mqtt.cloud.prefix": PREFIX,
  "bridge.mqtt.enable": true,
  "bridge.mqtt.use_cert": false,
  "bridge.backoff_min_ms": 100,
  "bridge.backoff_max_ms": 500,
  "bridge.metrics_interval_s": 1,
  ...extra,
});

export type Metrics = Record<string, number>;

/** The latest bridge metrics of the `mqtt` link and the retained alarms, as seen on the local bus. */
export async function watch(
  l: Ledge,
): Promise<{ pub: MqttClient; metrics: () => Metrics | undefined; alarms: Map<string, string> }> {
  const pub = await client(l.port);
  let last: Metrics | undefined;
  const alarms = new Map<string, string>();
  pub.on("message", (topic, p) => {
    if (topic.endsWith("/m/bridge")) last = JSON.parse(p.toString()).mqtt;
    else alarms.set(topic.split("/").at(-1)!, p.toString());
  });
  await pub.subscribeAsync(
    ["te/device/main/service/ledge-bridge/m/bridge", "te/device/main/service/ledge-bridge/a/+"],
    {
      qos: 1,
    },
  );
  return { pub, metrics: () => last, alarms };
}

/** Publishes numbers [from, to) QoS 1 at most `parallel` at a time; returns those the broker acknowledged. */
export async function publishRange(
  pub: MqttClient,
  from: number,
  to: number,
  payloadBytes = 0,
  acked: number[] = [],
): Promise<number[]> {
  const pad = payloadBytes ? `,${"x".repeat(payloadBytes)}` : "";
  const window = 200;
  for (let i = from; i < to; i += window) {
    const batch: Promise<void>[] = [];
    for (let k = i; k < Math.min(to, i + window); k++)
      batch.push(pub.publishAsync(TOPIC, `${k}${pad}`, { qos: 1 }).then(() => void acked.push(k)));
    await Promise.all(batch);
  }
  return acked;
}

/** The invariant: every acknowledged message was delivered or counted as dropped, exactly. */
export function assertAccounted(cloud: Cloud, acked: number[], m: Metrics): void {
  const ackedSet = new Set(acked);
  const stray = [...cloud.got].filter((n) => !ackedSet.has(n));
  assert.deepEqual(stray, [], "nothing arrives that was not acknowledged");
  assert.equal(
    cloud.got.size + m.drops!,
    acked.length,
    `delivered ${cloud.got.size} + dropped ${m.drops} = acknowledged ${acked.length}`,
  );
}

export const count = (logs: string[], text: string | RegExp) =>
  logs.filter((l) => (typeof text === "string" ? l.includes(text) : text.test(l))).length;

/** A tmpfs of `size` mounted on a fresh directory (root only); undefined when mounting is not allowed. */
export function smallDisk(
  size: string,
): { dir: string; resize(size: string): void; unmount(): void } | undefined {
  const dir = mkdtempSync(join(tmpdir(), "ledge-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  mkdirSync(join(dir, "data"));
  return {
    dir,
    resize: (s) => execFileSync("mount", ["-o", `remount,size=${s}`, dir]),
    unmount: () => execFileSync("umount", ["-l", dir]),
  };
}

/**
 * A tiny MQTT 3.1.1 server for liveness faults: it accepts CONNECT (CONNACK 0), answers SUBSCRIBE,
 * and then, per `mode`: `noack` takes PUBLISH packets and never sends PUBACK (PINGREQ answered);
 * `silent` answers nothing after CONNACK; `proxy` relays new connections to a real broker.
 */
export async function fakeCloud(proxyTo: number): Promise<{
  port: number;
  mode: "noack" | "silent" | "proxy";
  connections: number;
  publishes: number;
  dropAll(): void;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const state = {
    port: 0,
    mode: "noack" as "noack" | "silent" | "proxy",
    connections: 0,
    publishes: 0,
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        state.dropAll();
        server.close(() => resolve());
      }),
  };
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    state.connections++;
    if (state.mode === "proxy") {
      const up = netConnect(proxyTo, "127.0.0.1");
      sockets.add(up);
      up.on("error", () => sock.destroy());
      sock.pipe(up).pipe(sock);
      return;
    }
    let buf = Buffer.alloc(0);
    let connected = false;
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        // Fixed header: type in the high nibble, then the remaining length as a varint (§2.2).
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < buf.length && i < 5; i++) {
          len += (buf[i]! & 0x7f) * mul;
          mul *= 128;
          if (!(buf[i]! & 0x80)) break;
        }
        if (i >= buf.length || buf.length < i + 1 + len) return;
        const type = buf[0]! >> 4;
        const body = buf.subarray(i + 1, i + 1 + len);
        buf = buf.subarray(i + 1 + len);
        if (type === 1 && !connected) {
          connected = true;
          sock.write(Buffer.from([0x20, 2, 0, 0]));
        } else if (state.mode === "silent") {
          // nothing
        } else if (type === 3) state.publishes++;
        else if (type === 8) sock.write(Buffer.from([0x90, 3, body[0]!, body[1]!, 1]));
        else if (type === 12) sock.write(Buffer.from([0xd0, 0]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as { port: number }).port;
  return state;
}
