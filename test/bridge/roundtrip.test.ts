import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MqttClient } from "mqtt";
import { createC8yMapperComponent } from "../../src/mappers/c8y/component.ts";
import { type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";
import { freePort } from "../helpers/ports.ts";
import { clientCert, cloudBrokerConfig, createPki, type Pki } from "../helpers/tls-pki.ts";
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
} from "./harness.ts";

const DEVICE = "rt-device";

/** The c8y mapper and the bridge together, against the TLS cloud stand-in: te/ in, Cumulocity out, and back. */
describe("c8y mapper + bridge round trip", () => {
  let pki: Pki;
  let cloud: Mosquitto;
  let observer: MqttClient;
  let local: MqttClient;
  let l: Ledge;
  let dir: string;
  let atCloud: { topic: string; payload: string }[];

  before(async () => {
    pki = createPki();
    const device = clientCert(pki, DEVICE);
    const cfg = await cloudBrokerConfig(pki, [pki.caCert]);
    cloud = await startMosquitto(cfg.lines, cfg.tlsPort);
    observer = await client(cfg.plainPort);
    atCloud = await collect(observer, "#");
    dir = tempDir();
    l = await startLedge(
      {
        ...c8yBridge(DEVICE, device, pki.caCert, cfg.tlsPort),
        "bridge.drain_rate": 0,
        // The mapper's Cumulocity proxy runs too (c8y.url is set): never on a fixed port in tests.
        "c8y.proxy.bind.port": await freePort(),
      },
      dir,
      [createC8yMapperComponent],
    );
    await waitFor("link up", () => l.logs.some((x) => x.includes("connected")));
    local = await client(l.port);
  });
  after(async () => {
    await closeClients();
    await local?.endAsync(true);
    await l?.stop();
    await observer?.endAsync(true);
    await cloud?.stop();
    pki?.cleanup();
    if (dir) rm(dir);
  });

  it("a te/ measurement reaches the cloud as the mapper translated it, byte for byte", async () => {
    const translated = await collect(local, "c8y/measurement/measurements/create");
    await local.publishAsync(
      "te/device/child1///m/",
      '{"temp":1,"time":"2021-11-16T17:45:40.571760714+01:00"}',
      { qos: 1 },
    );
    const up = await waitFor("at the cloud", () =>
      atCloud.find((m) => m.topic === "measurement/measurements/create"),
    );
    await waitFor("translated locally", () => translated[0]);
    assert.equal(up.payload, translated[0]!.payload);
    assert.deepEqual(JSON.parse(up.payload), {
      externalSource: { externalId: `${DEVICE}:device:child1`, type: "c8y_Serial" },
      temp: { temp: { value: 1 } },
      time: "2021-11-16T17:45:40.571760714+01:00",
      type: "ThinEdgeMeasurement",
    });
  });

  it("an operation from the cloud becomes a te/ command, and its status goes back as 504/506", async () => {
    const cmds = await collect(local, "te/device/main///cmd/software_update/+");
    // As the agent does: the mapper fails operations the device did not announce.
    await local.publishAsync("te/device/main///cmd/software_update", '{"types":["debian"]}', {
      qos: 1,
      retain: true,
    });
    await waitFor("114 at the cloud", () =>
      atCloud.find((m) => m.topic === "s/us" && m.payload.startsWith("114,")),
    );
    await observer.publishAsync(
      "devicecontrol/notifications",
      '{"id":"123456","c8y_SoftwareUpdate":[{"name":"nodered","action":"install","version":"1.0.0::debian","url":""}]}',
      { qos: 1 },
    );
    const cmd = await waitFor("te/ command", () =>
      cmds.find((m) => m.topic === "te/device/main///cmd/software_update/c8y-mapper-123456" && m.payload),
    );
    const init = JSON.parse(cmd.payload);
    assert.equal(init.status, "init");
    assert.deepEqual(init.updateList, [
      { type: "debian", modules: [{ name: "nodered", version: "1.0.0", action: "install" }] },
    ]);
    // Acting as the agent.
    await local.publishAsync(cmd.topic, JSON.stringify({ ...init, status: "executing" }), {
      qos: 1,
      retain: true,
    });
    await waitFor("504 at the cloud", () =>
      atCloud.find((m) => m.topic === "s/us" && m.payload === "504,123456"),
    );
    await local.publishAsync(cmd.topic, JSON.stringify({ ...init, status: "successful" }), {
      qos: 1,
      retain: true,
    });
    await waitFor("506 at the cloud", () =>
      atCloud.find((m) => m.topic === "s/us" && m.payload === "506,123456"),
    );
  });
});
