/**
 * ledge's MQTT client against real parts: a mosquitto started here (with MQTT.js as the
 * independent peer), and a tiny fake broker (node:net + the codec) that accepts CONNECT and then
 * never acknowledges, for the deadlines a real broker cannot be made to miss.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import { type ClientEvents, MqttClient } from "../../src/bus/client/client.ts";
import { ReasonCodeError } from "../../src/bus/client/errors.ts";
import type { ClientOptions } from "../../src/bus/client/options.ts";
import { Decoder, encode, type Packet, type Publish } from "../../src/bus/mqtt/index.ts";
import type { Net } from "../../src/bus/net/net.ts";
import { nodeNet } from "../../src/bus/net/net-node.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { clientCert, cloudBrokerConfig, createPki, type Pki } from "../helpers/tls-pki.ts";

const host = "127.0.0.1";
let ids = 0;
const clientId = (tag: string) => `t-${tag}-${process.pid}-${++ids}`;

/** A started ledge client and what it received. */
async function ledgeClient(o: Partial<ClientOptions> & { port: number }, events: ClientEvents = {}) {
  const got: Publish[] = [];
  const offline: (Error | undefined)[] = [];
  const client = new MqttClient(
    { host, clientId: clientId("ledge"), backoff: { minMs: 50, maxMs: 200 }, ...o },
    {
      onMessage: (p) => {
        got.push(p);
      },
      onOffline: (e) => offline.push(e),
      ...events,
    },
  );
  await client.start(5000);
  return { client, got, offline };
}

const text = (p: Publish) => Buffer.from(p.payload).toString();

describe("client against mosquitto", () => {
  let mosq: Mosquitto;
  before(async () => {
    mosq = await startMosquitto();
  });
  after(() => mosq.stop());

  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 4 ? "3.1.1" : "5"}: QoS 0, 1 and 2 both ways with MQTT.js as the peer`, async () => {
      const peer = await mqtt.connectAsync({
        host,
        port: mosq.port,
        protocolVersion: version,
        reconnectPeriod: 0,
      });
      const peerGot: string[] = [];
      peer.on("message", (t, p, packet) => peerGot.push(`${t} ${p} q${packet.qos}`));
      await peer.subscribeAsync(`from-ledge/${version}/#`, { qos: 2 });
      const l = await ledgeClient({ port: mosq.port, protocolVersion: version });
      const codes = await l.client.subscribe([{ filter: `to-ledge/${version}/#`, qos: 2 }]);
      assert.deepEqual(codes, [2]);
      for (const qos of [0, 1, 2] as const) {
        const outcome = await l.client.publish(`from-ledge/${version}/${qos}`, Buffer.from("x"), { qos });
        assert.ok(outcome.reasonCode < 0x80);
        await peer.publishAsync(`to-ledge/${version}/${qos}`, "y", { qos });
      }
      await waitFor("both sides got 3", () => (peerGot.length >= 3 && l.got.length >= 3) || undefined);
      assert.deepEqual(
        peerGot.sort(),
        [0, 1, 2].map((q) => `from-ledge/${version}/${q} x q${q}`),
      );
      assert.deepEqual(
        l.got.map((p) => `${p.topic} ${text(p)} q${p.qos}`).sort(),
        [0, 1, 2].map((q) => `to-ledge/${version}/${q} y q${q}`),
      );
      await l.client.end();
      await peer.endAsync();
    });

    it(`MQTT ${version === 4 ? "3.1.1" : "5"}: a persistent session gets the QoS 1/2 messages published while it was away`, async () => {
      const id = clientId(`persist${version}`);
      const first = await ledgeClient({
        port: mosq.port,
        protocolVersion: version,
        clientId: id,
        clean: false,
      });
      await first.client.subscribe([{ filter: `away/${version}/#`, qos: 1 }]);
      await first.client.end();
      const peer = await mqtt.connectAsync({
        host,
        port: mosq.port,
        protocolVersion: version,
        reconnectPeriod: 0,
      });
      for (let i = 0; i < 20; i++) await peer.publishAsync(`away/${version}/${i}`, String(i), { qos: 1 });
      await peer.endAsync();
      let present: boolean | undefined;
      const back = await ledgeClient(
        { port: mosq.port, protocolVersion: version, clientId: id, clean: false },
        { onConnect: (c) => (present = c.sessionPresent) },
      );
      assert.equal(present, true, "the broker kept the session");
      await waitFor("all 20 queued messages", () => back.got.length >= 20 || undefined);
      assert.deepEqual(
        back.got.map(text),
        Array.from({ length: 20 }, (_, i) => String(i)),
      );
      // positive control: a clean session gets nothing queued
      const clean = await ledgeClient({
        port: mosq.port,
        protocolVersion: version,
        clientId: id,
        clean: true,
      });
      await clean.client.end();
      await back.client.end();
    });
  }

  it("a broker restart: the client reconnects by itself and re-subscribes (clean session)", async () => {
    const l = await ledgeClient({ port: mosq.port, protocolVersion: 5 });
    await l.client.subscribe([{ filter: "restart/#", qos: 1 }]);
    await mosq.restart();
    await waitFor("reconnected", () => l.client.connected || undefined, 10_000);
    assert.ok(l.offline.length >= 1, "the loss was reported");
    const peer = await mqtt.connectAsync({ host, port: mosq.port, reconnectPeriod: 0 });
    await waitFor(
      "delivery after the restart",
      async () => {
        await peer.publishAsync("restart/x", "after", { qos: 1 });
        return l.got.length > 0 || undefined;
      },
      10_000,
      100,
    );
    await peer.endAsync();
    await l.client.end();
  });

  it("stop is bounded when the broker is gone, and pending publishes reject", async () => {
    const m = await startMosquitto();
    const l = await ledgeClient({ port: m.port, protocolVersion: 5 });
    await m.stop();
    await waitFor("offline", () => !l.client.connected || undefined);
    const pending = l.client.publish("gone/x", Buffer.from("x"), { qos: 1 });
    const t0 = Date.now();
    await l.client.end(500);
    assert.ok(Date.now() - t0 < 1000, `end took ${Date.now() - t0} ms`);
    await assert.rejects(pending, /stopped/);
  });
});

describe("client: MQTT 5 reason codes from mosquitto", () => {
  let mosq: Mosquitto;
  let dir: string;
  before(async () => {
    const port = await freePort();
    mosq = await startMosquitto(
      [`listener ${port} 127.0.0.1`, "allow_anonymous true", "max_packet_size 2000"],
      port,
    );
    dir = mosq.dir;
    // anonymous clients may use ok/# only
    writeFileSync(join(dir, "acl"), "topic readwrite ok/#\n", { mode: 0o644 });
    chmodSync(dir, 0o755); // mosquitto drops to its own user before reading the ACL
    const conf = join(dir, "mosquitto.conf");
    writeFileSync(conf, `${readFileSync(conf, "utf8")}acl_file ${join(dir, "acl")}\n`);
    await mosq.restart();
  });
  after(() => mosq.stop());

  it("a PUBACK with a reason ≥ 0x80 rejects that publish with the code (0x87 not authorized); ok/ is accepted", async () => {
    const l = await ledgeClient({ port: mosq.port, protocolVersion: 5 });
    const ok = await l.client.publish("ok/x", Buffer.from("fine"), { qos: 1 });
    assert.equal(ok.reasonCode, 0x10, "no matching subscribers is a success code");
    await assert.rejects(l.client.publish("denied/x", Buffer.from("no"), { qos: 1 }), (e: Error) => {
      assert.ok(e instanceof ReasonCodeError);
      assert.equal(e.reasonCode, 0x87);
      assert.match(e.message, /NotAuthorized/);
      return true;
    });
    assert.ok(l.client.connected, "a refused publish does not cost the connection");
    await l.client.end();
  });

  it("the broker's maximum packet size (CONNACK) is enforced before sending", async () => {
    const l = await ledgeClient({ port: mosq.port, protocolVersion: 5 });
    await assert.rejects(
      l.client.publish("ok/big", Buffer.alloc(5000), { qos: 1 }),
      /exceeds the broker's maximum packet size 2000/,
    );
    await l.client.publish("ok/small", Buffer.alloc(100), { qos: 1 });
    await l.client.end();
  });

  it("[MQTT-3.1.3-8] a refused CONNECT rejects start with the reason (3.1.1: empty id on a persistent session)", async () => {
    const c = new MqttClient({
      host,
      port: mosq.port,
      clientId: "",
      clean: false,
      protocolVersion: 4,
      reconnect: false,
    });
    await assert.rejects(c.start(3000), /connection refused: identifier rejected/);
    await c.end();
  });
});

/** node:net, counting the bytes the client writes. */
function countingNet(): { net: Net; written: () => number } {
  let written = 0;
  const net: Net = {
    kind: "node",
    listen: nodeNet.listen,
    async connect(o, events) {
      const conn = await nodeNet.connect(o, events);
      const write = conn.write.bind(conn);
      conn.write = (data) => {
        written += data.byteLength;
        return write(data);
      };
      return conn;
    },
  };
  return { net, written: () => written };
}

describe("client: outbound topic aliases (MQTT 5), on mosquitto and on ledge's broker", () => {
  const brokers: Record<string, () => Promise<{ port: number; stop(): Promise<void> }>> = {
    mosquitto: async () => {
      const port = await freePort();
      const m = await startMosquitto(
        [`listener ${port} 127.0.0.1`, "allow_anonymous true", "max_topic_alias 2"],
        port,
      );
      return { port: m.port, stop: () => m.stop() };
    },
    ledge: async () => {
      const b = await EmbeddedBroker.start({
        host,
        port: 0,
        log: createLogger({ level: "error" }),
        limits: { topicAliasMaximum: 2 },
      });
      return { port: b.port, stop: () => b.stop() };
    },
  };
  for (const [name, start] of Object.entries(brokers))
    it(`${name}: [MQTT-3.3.2-9] at most the CONNACK's Topic Alias Maximum (2), LRU past it; [MQTT-3.3.2-7] none carried over a reconnect; topics arrive exact`, {
      timeout: 30_000,
    }, async () => {
      const broker = await start();
      const root = `alias/${"x".repeat(30)}`; // long topics: each hit saves the topic, costs 3 bytes
      const [A, B, C] = ["a", "b", "c"].map((t) => `${root}/${t}`) as [string, string, string];
      const sequence = [A, A, B, A, B, C, A];
      const peer = await mqtt.connectAsync({
        host,
        port: broker.port,
        protocolVersion: 5,
        reconnectPeriod: 0,
      });
      const seen: string[] = [];
      peer.on("message", (topic) => seen.push(topic));
      await peer.subscribeAsync(`${root}/#`, { qos: 1 });
      const run = async (topicAliases: boolean) => {
        const counter = countingNet();
        const l = await ledgeClient({
          port: broker.port,
          protocolVersion: 5,
          topicAliases,
          net: counter.net,
        });
        const before = counter.written();
        for (const t of sequence) await l.client.publish(t, Buffer.from(t), { qos: 1 });
        const bytes = counter.written() - before;
        // a new connection starts with no aliases: the next publish of B carries its topic again
        l.client.drop(new Error("test: new connection"));
        await waitFor("reconnected", () => l.client.connected || undefined);
        await l.client.publish(B, Buffer.from("after reconnect"), { qos: 1 });
        await l.client.end();
        return bytes;
      };
      try {
        const plain = await run(false);
        const aliased = await run(true);
        const expected = [...sequence, B];
        await waitFor("every message at the peer", () => seen.length >= 2 * expected.length || undefined);
        assert.deepEqual(seen, [...expected, ...expected], "the same topics, in order, both ways");
        // hits: the 2nd A, the 2nd A again and the 2nd B (C then A remap the least recently used)
        const hits = 3;
        assert.equal(plain - aliased, hits * A.length - 3 * sequence.length);
      } finally {
        await peer.endAsync();
        await broker.stop();
      }
    });
});

describe("client: mutual TLS against mosquitto", () => {
  let pki: Pki;
  let mosq: Mosquitto;
  let tlsPort: number;
  before(async () => {
    pki = createPki();
    const cfg = await cloudBrokerConfig(pki, [pki.caCert]);
    tlsPort = cfg.tlsPort;
    mosq = await startMosquitto(cfg.lines, cfg.plainPort);
  });
  after(async () => {
    await mosq.stop();
    pki.cleanup();
  });

  it("connects with a client certificate and publishes at QoS 1; without one it is refused", async () => {
    const dev = clientCert(pki, "gw-1");
    const ca = readFileSync(pki.caCert, "utf8");
    const l = await ledgeClient({
      port: tlsPort,
      tls: { ca, cert: readFileSync(dev.cert, "utf8"), key: readFileSync(dev.key, "utf8") },
    });
    await l.client.publish("tls/x", Buffer.from("over mTLS"), { qos: 1 });
    await l.client.end();
    const anon = new MqttClient({ host, port: tlsPort, clientId: "anon", tls: { ca }, reconnect: false });
    await assert.rejects(anon.start(3000));
    await anon.end();
  });
});

/**
 * A broker that answers CONNECT with CONNACK and then stays silent: no PUBACK, no PINGRESP. It
 * records every packet it got, per connection.
 */
async function silentBroker(port = 0) {
  const connections: Packet[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    const seen: Packet[] = [];
    connections.push(seen);
    const dec = new Decoder();
    s.on("data", (chunk) => {
      const { packets } = dec.push(chunk);
      for (const p of packets) {
        seen.push(p);
        if (p.type === "connect")
          s.write(encode({ type: "connack", sessionPresent: !p.clean, reasonCode: 0 }, p.protocolVersion));
      }
    });
    s.on("error", () => {});
  });
  server.listen(port, host);
  await once(server, "listening");
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : port,
    connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("client deadlines (a broker that never answers)", () => {
  it("no PUBACK within ackTimeoutMs: the connection is dropped, the PUBLISH resent with DUP; then a real mosquitto on that port acks it", async () => {
    const fake = await silentBroker();
    const offline: string[] = [];
    const c = new MqttClient(
      {
        host,
        port: fake.port,
        clientId: clientId("noack"),
        clean: false,
        ackTimeoutMs: 300,
        keepaliveS: 0,
        backoff: { minMs: 50, maxMs: 100 },
      },
      { onOffline: (e) => offline.push(e?.message ?? "") },
    );
    await c.start(3000);
    const done = c.publish("q1/x", Buffer.from("keep me"), { qos: 1 });
    await waitFor("a second connection with the resent PUBLISH", () =>
      fake.connections.length >= 2 && fake.connections[1]?.some((p) => p.type === "publish")
        ? true
        : undefined,
    );
    assert.match(offline[0] ?? "", /no PUBACK\/PUBREC\/PUBCOMP within 300 ms/);
    const [firstPub, resent] = [fake.connections[0], fake.connections[1]].map(
      (ps) => ps?.find((p) => p.type === "publish") as Publish,
    );
    assert.equal(firstPub?.dup, false);
    assert.equal(resent?.dup, true, "[MQTT-3.3.1-1] a resent PUBLISH has DUP set");
    assert.equal(resent?.packetId, firstPub?.packetId);
    // the broker comes back as a real one on the same port: the message goes through
    await fake.close();
    const mosq = await startMosquitto([], fake.port);
    try {
      const outcome = await done;
      assert.ok(outcome.reasonCode < 0x80);
      assert.ok(c.connected);
    } finally {
      await c.end();
      await mosq.stop();
    }
  });

  it("no PINGRESP within ackTimeoutMs: the connection is dropped and made again", async () => {
    const fake = await silentBroker();
    const offline: string[] = [];
    const c = new MqttClient(
      {
        host,
        port: fake.port,
        clientId: clientId("noping"),
        keepaliveS: 1,
        ackTimeoutMs: 300,
        backoff: { minMs: 50, maxMs: 100 },
      },
      { onOffline: (e) => offline.push(e?.message ?? "") },
    );
    await c.start(3000);
    await waitFor(
      "reconnected after a missing PINGRESP",
      () => fake.connections.length >= 2 || undefined,
      5000,
    );
    assert.ok(fake.connections[0]?.some((p) => p.type === "pingreq"));
    assert.match(offline[0] ?? "", /no PINGRESP within 300 ms/);
    await c.end();
    await fake.close();
  });

  it("positive control: against mosquitto the same keepalive and deadline keep one connection", async () => {
    const mosq = await startMosquitto();
    try {
      const l = await ledgeClient({ port: mosq.port, keepaliveS: 1, ackTimeoutMs: 300 });
      await new Promise((r) => setTimeout(r, 2500)); // two keepalive periods: pings answered
      assert.deepEqual(l.offline, []);
      assert.ok(l.client.connected);
      await l.client.end();
    } finally {
      await mosq.stop();
    }
  });

  it("end() on a connection the broker no longer reads returns within its bound", async () => {
    const fake = await silentBroker();
    const c = new MqttClient({ host, port: fake.port, clientId: clientId("stuck"), keepaliveS: 0 });
    await c.start(3000);
    const pending = c.publish("x", Buffer.alloc(1000), { qos: 1 });
    const t0 = Date.now();
    await c.end(300);
    const took = Date.now() - t0;
    assert.ok(took < 1000, `end took ${took} ms`);
    await assert.rejects(pending, /stopped/);
    await fake.close();
  });

  it("end() during a TLS handshake the server never answers closes that socket at once (nothing left to wait on)", async () => {
    const accepted: Socket[] = [];
    // accepts TCP, reads and never answers the ClientHello
    const server = createServer((s) => accepted.push(s.resume()));
    server.listen(0, host);
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const c = new MqttClient({
      host,
      port,
      clientId: clientId("handshake"),
      tls: { rejectUnauthorized: true },
      connectTimeoutMs: 30_000,
    });
    const started = c.start(30_000).catch((e: Error) => e);
    await waitFor("TCP accepted", () => accepted[0]);
    const closed = once(accepted[0] as Socket, "close");
    const t0 = Date.now();
    await c.end(300);
    await closed;
    assert.ok(Date.now() - t0 < 2000, "long before the 30 s connect timeout");
    assert.match(String(await started), /stopped/);
    server.close();
  });

  it("no CONNACK within connectTimeoutMs: start rejects (reconnect off) instead of hanging", async () => {
    const server = createServer(() => {}); // accepts TCP, says nothing
    server.listen(0, host);
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const c = new MqttClient({ host, port, clientId: "x", connectTimeoutMs: 300, reconnect: false });
    const t0 = Date.now();
    await assert.rejects(c.start(5000), /no CONNACK .* within 300 ms/);
    assert.ok(Date.now() - t0 < 2000);
    await c.end();
    server.close();
  });
});
