/**
 * `500` and the capabilities on every connect, with the real bridge: the c8y mapper and the bridge
 * against a TLS cloud stand-in (mosquitto), the cloud stopped and started again.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MqttClient } from "mqtt";
import { createC8yMapperComponent } from "../../src/mappers/c8y/component.ts";
import {
  c8yBridge,
  client,
  closeClients,
  collect,
  type Ledge,
  rm,
  startLedge,
  tempDir,
  waitFor,
} from "../bridge/harness.ts";
import { type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";
import { canConnect, freePort } from "../helpers/ports.ts";
import { clientCert, cloudBrokerConfig, createPki, type Pki } from "../helpers/tls-pki.ts";

const DEVICE = "rc-device";

describe("c8y mapper + bridge: pending operations and capabilities on every (re)connect", () => {
  let pki: Pki;
  let cloud: Mosquitto;
  let plainPort: number;
  let l: Ledge;
  let local: MqttClient;
  let dir: string;

  before(async () => {
    pki = createPki();
    const device = clientCert(pki, DEVICE);
    const cfg = await cloudBrokerConfig(pki, [pki.caCert]);
    plainPort = cfg.plainPort;
    cloud = await startMosquitto(cfg.lines, cfg.tlsPort);
    dir = tempDir();
    l = await startLedge(
      {
        ...c8yBridge(DEVICE, device, pki.caCert, cfg.tlsPort),
        "bridge.metrics_interval_s": 1,
        "c8y.proxy.bind.port": await freePort(),
        "c8y.availability.enable": false,
      },
      dir,
      [createC8yMapperComponent],
    );
    local = await client(l.port);
  });
  after(async () => {
    await closeClients();
    await local?.endAsync(true);
    await l?.stop();
    await cloud?.stop();
    pki?.cleanup();
    if (dir) rm(dir);
  });

  it("after the cloud comes back, Cumulocity gets 114 and 500 again", async () => {
    let atCloud = await collect(await client(plainPort), "s/us");
    await local.publishAsync("te/device/main///cmd/restart", "{}", { qos: 1, retain: true });
    await waitFor("114 at the cloud", () => atCloud.find((m) => m.payload === "114,c8y_Restart"), 20_000);
    await waitFor("500 at the cloud", () => atCloud.find((m) => m.payload === "500"), 20_000);
    const metrics = await collect(local, "te/device/main/service/ledge-bridge/m/bridge");
    // What the mapper itself publishes: the second 500 must be its own, not a resend by the bridge.
    const fromMapper = await collect(local, "c8y/s/us");
    await cloud.stop();
    await waitFor(
      "the bridge reports the link down",
      () =>
        metrics.find((m) => (JSON.parse(m.payload) as { c8y?: { connected?: number } }).c8y?.connected === 0),
      20_000,
    );
    await cloud.restart();
    // restart() waits for the TLS listener; the observer's plain one may come a moment later.
    await waitFor("the cloud's plain listener", () => canConnect(plainPort).then((up) => up || undefined));
    atCloud = await collect(await client(plainPort), "s/us");
    // The mapper says it again (the bridge may also resend what was unacknowledged: so the local
    // side is what proves the re-announcement), and it reaches the cloud.
    await waitFor(
      "the mapper's 114 again",
      () => fromMapper.find((m) => m.payload === "114,c8y_Restart"),
      20_000,
    );
    await waitFor("the mapper's 500 again", () => fromMapper.find((m) => m.payload === "500"), 20_000);
    await waitFor("114 at the cloud", () => atCloud.find((m) => m.payload === "114,c8y_Restart"), 20_000);
    await waitFor("500 at the cloud", () => atCloud.find((m) => m.payload === "500"), 20_000);
    assert.ok(
      fromMapper.findIndex((m) => m.payload === "114,c8y_Restart") <
        fromMapper.findIndex((m) => m.payload === "500"),
    );
  });
});
