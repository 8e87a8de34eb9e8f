import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MqttClient } from "mqtt";
import { probe } from "../../src/bridge/probe.ts";
import { routesFor } from "../../src/bridge/routes.ts";
import type { LinkSettings } from "../../src/bridge/settings.ts";
import { type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";
import { freePort } from "../helpers/ports.ts";
import { clientCert, cloudBrokerConfig, createCa, createPki, issue, type Pki } from "../helpers/tls-pki.ts";
import {
  client,
  closeClients,
  collect,
  gate,
  type Ledge,
  rm,
  startLedge,
  tempDir,
  waitFor,
} from "./harness.ts";

const DEVICE = "test-device";

/**
 * Publishes `probe` at the cloud until it arrives locally: the link's cloud subscription is in
 * place (nothing to sleep on), then forgets what it received.
 */
async function downlinkReady(
  cloud: MqttClient,
  remote: string,
  got: { topic: string; payload: string | Buffer }[],
  local: string,
): Promise<void> {
  await waitFor(
    "the link's cloud subscription",
    async () => {
      await cloud.publishAsync(remote, "probe", { qos: 1 });
      return got.some((m) => m.topic === local) || undefined;
    },
    10_000,
    200,
  );
  // the probes still under way arrive before this one (one cloud connection, in order)
  await cloud.publishAsync(remote, "sync", { qos: 1 });
  await waitFor(
    "sync",
    () => got.some((m) => m.topic === local && String(m.payload) === "sync") || undefined,
  );
  got.length = 0;
}

describe("bridge against a TLS cloud stand-in (mosquitto, require_certificate)", () => {
  let pki: Pki;
  let cloud: Mosquitto;
  let tlsPort: number;
  let plainPort: number;
  let device: { cert: string; key: string };
  let observer: MqttClient;
  const dirs: string[] = [];
  const running: Ledge[] = [];

  const base = (extra: Record<string, string | number | boolean> = {}) => ({
    "device.id": DEVICE,
    "device.cert_path": device.cert,
    "device.key_path": device.key,
    "bridge.root_cert_path": pki.caCert,
    "bridge.backoff_min_ms": 100,
    "bridge.backoff_max_ms": 500,
    "bridge.drain_rate": 0,
    ...extra,
  });
  const ledge = async (extra: Record<string, string | number | boolean>) => {
    const d = tempDir();
    dirs.push(d);
    const l = await startLedge(base(extra), d);
    running.push(l);
    return l;
  };

  before(async () => {
    pki = createPki();
    device = clientCert(pki, DEVICE);
    const cfg = await cloudBrokerConfig(pki, [pki.caCert]);
    tlsPort = cfg.tlsPort;
    plainPort = cfg.plainPort;
    cloud = await startMosquitto(cfg.lines, tlsPort);
    observer = await client(plainPort);
  });
  after(async () => {
    await closeClients();
    for (const l of running) await l.stop().catch(() => {});
    await observer?.endAsync(true);
    await cloud?.stop();
    pki?.cleanup();
    for (const d of dirs) rm(d);
  });

  it("c8y: local c8y/... messages arrive at the cloud without the prefix, payloads exact; downlink topics stay local", async () => {
    const seen = await collect(observer, "#");
    const l = await ledge({ "c8y.url": `127.0.0.1:${tlsPort}`, "bridge.c8y.enable": true });
    await waitFor("link up", () => l.logs.some((x) => x.includes("connected")));
    const pub = await client(l.port);
    const meas =
      '{"externalSource":{"externalId":"test-device:device:child1","type":"c8y_Serial"},"temp":{"temp":{"value":1.0}},"time":"2021-11-16T17:45:40.571760714+01:00","type":"ThinEdgeMeasurement"}';
    await pub.publishAsync("c8y/s/us", '400,ThinEdgeEvent,"Someone clicked",2020-02-02T01:02:03+05:30', {
      qos: 1,
    });
    await pub.publishAsync("c8y/measurement/measurements/create", meas, { qos: 0 });
    await pub.publishAsync("c8y/s/ds", "510,test-device", { qos: 1 });
    await pub.publishAsync("c8y/inventory/managedObjects/update/test-device", '{"foo":"bar"}', { qos: 1 });
    // a marker after them: the queue is in order, so a wrongly forwarded c8y/s/ds would be before it
    await pub.publishAsync("c8y/s/us", "marker", { qos: 1 });
    await waitFor("the marker at the cloud", () => seen.some((m) => m.payload === "marker"));
    assert.deepEqual(seen.slice(0, -1), [
      { topic: "s/us", payload: '400,ThinEdgeEvent,"Someone clicked",2020-02-02T01:02:03+05:30' },
      { topic: "measurement/measurements/create", payload: meas },
      { topic: "inventory/managedObjects/update/test-device", payload: '{"foo":"bar"}' },
    ]);
    await pub.endAsync();
    observer.removeAllListeners("message");
    await observer.unsubscribeAsync("#");
    await l.stop();
    running.pop();
  });

  it("c8y: an operation published at the cloud on devicecontrol/notifications arrives locally on c8y/devicecontrol/notifications", async () => {
    const l = await ledge({ "c8y.url": `127.0.0.1:${tlsPort}`, "bridge.c8y.enable": true });
    const local = await client(l.port);
    const got = await collect(local, "c8y/#");
    await waitFor("link up", () => l.logs.some((x) => x.includes("connected")));
    await downlinkReady(observer, "s/ds", got, "c8y/s/ds");
    const op =
      '{"id":"123456","c8y_SoftwareUpdate":[{"name":"nodered","action":"install","version":"1.0.0::debian","url":""}]}';
    await observer.publishAsync("devicecontrol/notifications", op, { qos: 1 });
    await observer.publishAsync("s/ds", "510,test-device", { qos: 1 });
    await observer.publishAsync("s/us", "not for the device", { qos: 1 });
    await observer.publishAsync("s/ds", "marker", { qos: 1 });
    await waitFor("downlink", () => got.some((m) => m.payload === "marker"));
    assert.deepEqual(got.slice(0, -1), [
      { topic: "c8y/devicecontrol/notifications", payload: op },
      { topic: "c8y/s/ds", payload: "510,test-device" },
    ]);
    await local.endAsync();
    await l.stop();
    running.pop();
  });

  it("az and aws: telemetry topics map to devices/<id>/messages/events/ and thinedge/<id>/td/...; commands come back", async () => {
    const seen = await collect(observer, "#");
    for (const [cloud, localTopic, remoteTopic, downRemote, downLocal] of [
      [
        "az",
        "az/messages/events/",
        `devices/${DEVICE}/messages/events/`,
        `devices/${DEVICE}/messages/devicebound/x`,
        "az/messages/devicebound/x",
      ],
      [
        "aws",
        "aws/td/device:child/m/test_type",
        `thinedge/${DEVICE}/td/device:child/m/test_type`,
        `thinedge/${DEVICE}/cmd/restart`,
        "aws/cmd/restart",
      ],
    ] as const) {
      seen.length = 0;
      const l = await ledge({ [`${cloud}.url`]: `127.0.0.1:${tlsPort}`, [`bridge.${cloud}.enable`]: true });
      const local = await client(l.port);
      const down = await collect(local, `${cloud}/#`);
      await waitFor("link up", () => l.logs.some((x) => x.includes("connected")));
      await downlinkReady(observer, downRemote, down, downLocal);
      await local.publishAsync(localTopic, '{"temp":1,"time":"2021-01-01T00:00:00Z"}', { qos: 1 });
      await waitFor(`${cloud} uplink`, () => seen.find((m) => m.topic === remoteTopic));
      assert.equal(
        seen.find((m) => m.topic === remoteTopic)?.payload,
        '{"temp":1,"time":"2021-01-01T00:00:00Z"}',
      );
      await observer.publishAsync(downRemote, "cmd", { qos: 1 });
      await waitFor(`${cloud} downlink`, () => down.find((m) => m.topic === downLocal));
      await local.endAsync();
      await l.stop();
      running.pop();
    }
    observer.removeAllListeners("message");
    await observer.unsubscribeAsync("#");
  });

  it("plain MQTT cloud (mqtt://, no client certificate): <prefix>/# goes up byte for byte (binary CBOR frames too), <prefix>/cmd/# comes down", async () => {
    const seen: { topic: string; payload: Buffer }[] = [];
    const onMsg = (topic: string, payload: Buffer) => seen.push({ topic, payload });
    observer.on("message", onMsg);
    await observer.subscribeAsync("ledge/#", { qos: 1 });
    const l = await ledge({
      "mqtt.cloud.url": `mqtt://127.0.0.1:${plainPort}`,
      "bridge.mqtt.enable": true,
      "bridge.mqtt.use_cert": false,
      "bridge.mqtt.client_id": "ledge-plain",
    });
    const local = await client(l.port);
    const down = await collect(local, "ledge/#");
    await waitFor("link up", () => l.logs.some((x) => x.includes("connected")));
    await downlinkReady(observer, `ledge/${DEVICE}/cmd/probe`, down, `ledge/${DEVICE}/cmd/probe`);
    seen.length = 0; // the probes themselves, seen by the observer
    const frame = Buffer.from([0xd9, 0xd9, 0xf7, 0x00, 0xff, 0x00, 0x0a, 0x0d, 0x80]);
    await local.publishAsync(`ledge/${DEVICE}/batch`, frame, { qos: 1 });
    await local.publishAsync(`ledge/${DEVICE}/device/main///m/env`, '{"t":1}', { qos: 0 });
    await waitFor("uplink", () => seen.length >= 2);
    assert.deepEqual(seen[0], { topic: `ledge/${DEVICE}/batch`, payload: frame });
    assert.equal(seen[1]!.payload.toString(), '{"t":1}');
    await observer.publishAsync(`ledge/${DEVICE}/cmd/restart`, "{}", { qos: 1 });
    await waitFor("downlink", () => down.find((m) => m.topic === `ledge/${DEVICE}/cmd/restart`));
    // an echo would go up before this marker (one local connection, one queue)
    await local.publishAsync(`ledge/${DEVICE}/marker`, "end", { qos: 1 });
    await waitFor("the marker at the cloud", () => seen.some((m) => m.topic === `ledge/${DEVICE}/marker`));
    assert.equal(seen.filter((m) => m.topic.includes("/cmd/")).length, 1, "a command is not echoed back up");
    observer.off("message", onMsg);
    await observer.unsubscribeAsync("ledge/#");
    await local.endAsync();
    await l.stop();
    running.pop();
  });

  it("plain MQTT cloud with bridge.mqtt.username/password: accepted with the right one; a wrong one is 'refused the MQTT connection' and sends nothing", async () => {
    const pw = join(pki.dir, "cloud-passwd");
    execFileSync("mosquitto_passwd", ["-c", "-b", pw, "gw-user", "s3cret"]);
    chmodSync(pw, 0o644); // mosquitto reads it after dropping to its own user
    const port = await freePort();
    const authCloud = await startMosquitto(
      [`listener ${port} 127.0.0.1`, "allow_anonymous false", `password_file ${pw}`],
      port,
    );
    try {
      const watcher = await client(port, { username: "gw-user", password: "s3cret" });
      const seen = await collect(watcher, "ledge/#");
      const plain = (password: string) => ({
        "mqtt.cloud.url": `mqtt://127.0.0.1:${port}`,
        "bridge.mqtt.enable": true,
        "bridge.mqtt.use_cert": false,
        "bridge.mqtt.client_id": `ledge-auth-${password}`,
        "bridge.mqtt.username": "gw-user",
        "bridge.mqtt.password": password,
      });
      const bad = await ledge(plain("wrong"));
      const badLocal = await client(bad.port);
      await badLocal.publishAsync(`ledge/${DEVICE}/x`, "with the wrong password", { qos: 1 });
      const line = await waitFor("refusal logged", () =>
        bad.logs.find((x) => x.includes("refused the MQTT connection")),
      );
      assert.match(line, /not authorized|bad user name or password/);
      await bad.stop();
      running.pop();
      const good = await ledge(plain("s3cret"));
      const local = await client(good.port);
      await local.publishAsync(`ledge/${DEVICE}/x`, "with the right one", { qos: 1 });
      await waitFor("uplink", () => seen.find((m) => m.payload === "with the right one"));
      assert.deepEqual(
        seen.map((m) => m.payload),
        ["with the right one"],
        "nothing went up with the wrong password",
      );
      await good.stop();
      running.pop();
    } finally {
      await authCloud.stop();
    }
  });

  it("bridge.drain_rate paces a backlog (100 queued at 50/s take about 2 s); live messages go at once; order kept", async () => {
    const seen = await collect(observer, "s/us");
    // The link reaches the cloud through a relay that refuses it until the backlog is queued.
    const relay = await gate(tlsPort);
    relay.open = false;
    const l = await ledge({
      "c8y.url": `127.0.0.1:${relay.port}`,
      "bridge.c8y.enable": true,
      "bridge.drain_rate": 50,
      "bridge.backoff_min_ms": 50,
      "bridge.backoff_max_ms": 100,
    });
    const pub = await client(l.port);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => pub.publishAsync("c8y/s/us", `200,n,${i}`, { qos: 1 })),
    );
    relay.open = true;
    await waitFor("link up", () => l.logs.some((x) => / connected/.test(x)), 5000);
    const t0 = Date.now();
    await waitFor("100 at the cloud", () => seen.length >= 100, 10_000);
    const took = Date.now() - t0;
    assert.ok(took >= 1500 && took < 5000, `backlog took ${took} ms`);
    // Live: 200 more with the backlog gone arrive far faster than 50/s (4 s).
    const t1 = Date.now();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => pub.publishAsync("c8y/s/us", `200,n,${100 + i}`, { qos: 1 })),
    );
    await waitFor("300 at the cloud", () => seen.length >= 300, 10_000);
    assert.ok(Date.now() - t1 < 1500, `live took ${Date.now() - t1} ms`);
    assert.deepEqual(
      seen.map((m) => m.payload),
      Array.from({ length: 300 }, (_, i) => `200,n,${i}`),
    );
    observer.removeAllListeners("message");
    await observer.unsubscribeAsync("s/us");
    await pub.endAsync();
    await l.stop();
    await relay.close();
    running.pop();
  });

  it("a device certificate from another CA is refused with a clear error, and nothing is sent", async () => {
    const other = createCa(pki.dir, "rogue-ca");
    const rogue = issue(pki.dir, other, "rogue", DEVICE, "extendedKeyUsage=clientAuth");
    const l = await ledge({
      "c8y.url": `127.0.0.1:${tlsPort}`,
      "bridge.c8y.enable": true,
      "device.cert_path": rogue.cert,
      "device.key_path": rogue.key,
    });
    const line = await waitFor("rejection logged", () =>
      l.logs.find((x) => x.includes("rejected the device certificate")),
    );
    assert.match(line, /c8y \(127\.0\.0\.1:\d+\) rejected the device certificate/);
    assert.ok(!l.logs.some((x) => / INFO .* connected/.test(x)));
    await l.stop();
    running.pop();
  });

  it("a bridge whose every enabled cloud is misconfigured fails to start, saying why", async () => {
    const d = tempDir();
    dirs.push(d);
    await assert.rejects(startLedge(base({ "bridge.c8y.enable": true }), d), /c8y: c8y\.url is not set/);
  });

  it("a cloud whose link cannot start is reported and skipped; the other clouds still run", async () => {
    const l = await ledge({
      "c8y.url": `127.0.0.1:${tlsPort}`,
      "bridge.c8y.enable": true,
      "mqtt.cloud.url": `mqtt://127.0.0.1:${plainPort}`,
      "bridge.mqtt.enable": true,
      "bridge.mqtt.use_cert": false,
      // Passes the config check (no wildcards) but is no valid topic filter.
      "mqtt.cloud.prefix": "bad\u0000prefix",
    });
    await waitFor("mqtt link reported", () => l.logs.find((x) => x.includes("mqtt link not started")));
    await waitFor("c8y link up", () => l.logs.some((x) => / INFO .*ledge:c8y connected/.test(x)));
    await l.stop();
    running.pop();
  });

  it("a server certificate the root_cert_path does not trust is a TLS failure, not a rejection", async () => {
    const other = createCa(pki.dir, "other-root");
    const l = await ledge({
      "c8y.url": `127.0.0.1:${tlsPort}`,
      "bridge.c8y.enable": true,
      "bridge.root_cert_path": other.cert,
    });
    const line = await waitFor("tls failure logged", () => l.logs.find((x) => x.includes("TLS failure")));
    assert.match(line, /is not trusted/);
    await l.stop();
    running.pop();
  });

  it("connect --test's probe names what it proved, or what failed (mutual TLS on this runtime's sockets)", async () => {
    const pem = (f: string) => readFileSync(f, "utf8");
    const settings = (port: number, cert = device, ca = pki.caCert, host = "127.0.0.1"): LinkSettings => ({
      cloud: "c8y",
      endpoint: { host, port, tls: true },
      where: `c8y (${host}:${port})`,
      clientId: DEVICE,
      cert: pem(cert.cert),
      key: pem(cert.key),
      ca: [pem(ca)],
      routes: routesFor("c8y", DEVICE, ""),
    });
    const ok = await probe(settings(tlsPort, device, pki.caCert, "localhost"), 5000);
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.deepEqual(ok.verified, [
      `TCP to localhost:${tlsPort}`,
      "TLS (server certificate trusted, device certificate accepted)",
      "MQTT CONNACK accepted",
    ]);
    const rogueCa = createCa(pki.dir, "probe-rogue-ca");
    const rogue = issue(pki.dir, rogueCa, "probe-rogue", DEVICE, "extendedKeyUsage=clientAuth");
    const cases: [LinkSettings, string, RegExp][] = [
      [settings(tlsPort, rogue), "rejected", /rejected the device certificate/],
      [settings(tlsPort, device, rogueCa.cert), "tls", /is not trusted/],
      [settings(await freePort()), "unreachable", /nothing listens on that port/],
      [settings(plainPort), "tls", /during the TLS handshake/],
    ];
    for (const [s, kind, message] of cases) {
      const r = await probe(s, 5000);
      assert.ok(!r.ok, `${s.where}: ${JSON.stringify(r)}`);
      assert.equal(r.failure.kind, kind, r.failure.message);
      assert.match(r.failure.message, message);
    }
  });

  it("publishes queue depth, drops, reconnects and bytes sent as a te/ measurement", async () => {
    const l = await ledge({
      "c8y.url": `127.0.0.1:${tlsPort}`,
      "bridge.c8y.enable": true,
      "bridge.metrics_interval_s": 1,
    });
    const local = await client(l.port);
    const got = await collect(local, "te/device/main/service/ledge-bridge/m/bridge");
    await waitFor("link up", () => l.logs.some((x) => x.includes("connected")));
    await local.publishAsync("c8y/s/us", "200,x,y,1", { qos: 1 });
    const m = await waitFor(
      "metrics",
      () => got.map((g) => JSON.parse(g.payload)).find((p) => p.c8y?.messages_sent >= 1),
      5000,
    );
    assert.deepEqual(Object.keys(m.c8y).sort(), [
      "bytes_sent",
      "connected",
      "corrupt_bytes",
      "disk_error",
      "drops",
      "drops_compacted",
      "drops_corrupt",
      "drops_disk",
      "drops_full",
      "messages_received",
      "messages_sent",
      "queue_bytes",
      "queue_depth",
      "queue_oldest_age_s",
      "reconnects",
      "resent",
      "stalled",
    ]);
    assert.equal(m.c8y.stalled, 0);
    assert.equal(m.c8y.connected, 1);
    assert.ok(m.c8y.bytes_sent >= 9);
    assert.ok(!Number.isNaN(Date.parse(m.time)));
    await local.endAsync();
    await l.stop();
    running.pop();
  });
});
