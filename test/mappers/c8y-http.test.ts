/**
 * The Cumulocity HTTP side end to end: `ledge run broker api agent c8y-mapper` in-process, a
 * Cumulocity stand-in over HTTPS with client certificates that checks every request against the
 * documented REST API, and this test playing the bridge (JWT over MQTT: `c8y/s/uat` → `71,<jwt>`
 * on `c8y/s/dat`) and the operator (operations on `c8y/devicecontrol/notifications`).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { type Running, run } from "../../src/app/run.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { C8yStandIn } from "../helpers/c8y-standin.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { clientCert, createPki, type Pki } from "../helpers/tls-pki.ts";

const LOG = "2024-01-01T10:00:00Z app started\n2024-01-01T10:00:01Z app ready\n";

describe("Cumulocity HTTP side (uploads, downloads, proxy, JWT) against an HTTPS stand-in", () => {
  let pki: Pki;
  let tenant: C8yStandIn;
  let running: Running;
  let client: MqttClient;
  let dir: string;
  let proxyPort: number;
  let ftsPort: number;
  const seen: { topic: string; payload: string }[] = [];
  let jwtRequests = 0;

  before(async () => {
    pki = createPki();
    const device = clientCert(pki, "test-device");
    tenant = new C8yStandIn(pki, "test-device");
    await tenant.start();
    tenant.addDevice("test-device");
    dir = mkdtempSync(join(tmpdir(), "ledge-c8y-http-"));
    writeFileSync(join(dir, "app.log"), LOG);
    writeFileSync(join(dir, "app.conf"), "level = 1\n");
    // A software plugin (thin-edge's sm-plugin protocol) that keeps the file it is given to install.
    mkdirSync(join(dir, "plugins"));
    writeFileSync(
      join(dir, "plugins", "fake"),
      `#!/bin/sh\ncase "$1" in\n  install) while [ $# -gt 0 ]; do [ "$1" = --file ] && cp "$2" "${join(dir, "installed")}"; shift; done ;;\nesac\nexit 0\n`,
      { mode: 0o755 },
    );
    const port = await freePort();
    proxyPort = await freePort();
    ftsPort = await freePort();
    const config = loadConfig(dir, {}).with({
      "device.id": "test-device",
      "device.cert_path": device.cert,
      "device.key_path": device.key,
      "bridge.root_cert_path": pki.caCert,
      "c8y.http": `127.0.0.1:${tenant.port}`,
      "c8y.proxy.bind.port": proxyPort,
      "c8y.proxy.client.port": proxyPort,
      "c8y.availability.enable": false,
      "mqtt.bind.port": port,
      "mqtt.client.port": port,
      "http.bind.port": ftsPort,
      "data.path": join(dir, "data"),
      "agent.log_types": [`app=${join(dir, "app.log")}`],
      "agent.config_types": [`app.conf=${join(dir, "app.conf")}`],
      "agent.sm_plugins_dir": join(dir, "plugins"),
    });
    running = await run(config, ["broker", "api", "agent", "c8y-mapper"], createLogger({ level: "error" }));
    client = await mqtt.connectAsync({ host: "127.0.0.1", port });
    client.on("message", (topic, p) => {
      seen.push({ topic, payload: p.toString() });
      // Play the bridge and the tenant's JWT service.
      if (topic === "c8y/s/uat") {
        jwtRequests++;
        client.publish("c8y/s/dat", `71,${tenant.issueToken()}`);
      }
    });
    await client.subscribeAsync(["c8y/#", "te/+/+/+/+/cmd/+"], { qos: 1 });
    // The mapper subscribed before this client, so it has these retained capabilities too.
    await waitFor(
      "the agent's capabilities",
      () =>
        ["log_upload", "config_snapshot", "config_update", "software_update"].every((op) =>
          seen.some((s) => s.topic === `te/device/main///cmd/${op}`),
        ) || undefined,
    );
  });
  after(async () => {
    await client?.endAsync(true);
    await running?.stop();
    await tenant?.stop();
    pki?.cleanup();
  });

  const operation = (op: object) =>
    client.publishAsync("c8y/devicecontrol/notifications", JSON.stringify(op), { qos: 1 });
  const status = (re: RegExp, from = 0) =>
    waitFor(
      `c8y/s/us ${re}`,
      () => seen.slice(from).find((s) => s.topic === "c8y/s/us" && re.test(s.payload)),
      20_000,
    );

  it("an operator requests a log: the file is attached to an event and 506 carries its URL (thin-edge's upload)", async () => {
    const mark = tenant.requests.length;
    await operation({ id: "9001", c8y_LogfileRequest: { logFile: "app", maximumLines: 1000 } });
    await status(/^504,9001$/);
    const done = await status(/^50[56],9001/);
    const m = /^506,9001,https:\/\/127\.0\.0\.1:(\d+)\/event\/events\/(\d+)\/binaries$/.exec(done.payload);
    assert.ok(m, done.payload);
    assert.equal(Number(m[1]), tenant.port);
    const eventId = m[2]!;
    assert.deepEqual(tenant.events.get(eventId), {
      source: "1000",
      type: "app",
      text: "app",
      time: tenant.events.get(eventId)!.time,
    });
    const bin = tenant.binaries.get(eventId)!;
    assert.equal(bin.fileName, "test-device_app-c8y-mapper-9001");
    assert.equal(bin.contentType, "text/plain");
    assert.equal(bin.content.toString(), LOG);
    // Exactly thin-edge's sequence, each with the JWT; nothing the documented API does not have.
    assert.deepEqual(
      tenant.requests.slice(mark).map((r) => `${r.method} ${r.path}`),
      [
        "GET /identity/externalIds/c8y_Serial/test-device",
        "POST /event/events",
        `POST /event/events/${eventId}/binaries`,
      ],
    );
    assert.ok(tenant.requests.slice(mark).every((r) => /^Bearer /.test(String(r.headers.authorization))));
    assert.deepEqual(tenant.problems, []);
    // The log is removed from the file transfer service afterwards.
    const fts = await fetch(
      `http://127.0.0.1:${ftsPort}/te/v1/files/test-device/log_upload/app-c8y-mapper-9001`,
    );
    assert.equal(fts.status, 404);
  });

  it("a config snapshot is uploaded the same way (event type = config type)", async () => {
    await operation({ id: "9002", c8y_UploadConfigFile: { type: "app.conf" } });
    const done = await status(/^50[56],9002/);
    const eventId = /\/event\/events\/(\d+)\/binaries$/.exec(done.payload)?.[1];
    assert.ok(eventId, done.payload);
    assert.equal(tenant.events.get(eventId)?.type, "app.conf");
    assert.equal(tenant.binaries.get(eventId)?.content.toString(), "level = 1\n");
    assert.equal(tenant.binaries.get(eventId)?.fileName, "test-device_app.conf-c8y-mapper-9002");
    assert.deepEqual(tenant.problems, []);
  });

  it("a refused JWT (401) is renewed over MQTT (c8y/s/uat) and the request retried", async () => {
    const before = jwtRequests;
    tenant.revokeTokens();
    await operation({ id: "9003", c8y_LogfileRequest: { logFile: "app" } });
    const done = await status(/^50[56],9003/);
    assert.match(done.payload, /^506,9003,https:/);
    assert.ok(jwtRequests > before);
    const empty = seen.filter((s) => s.topic === "c8y/s/uat");
    assert.ok(
      empty.every((s) => s.payload === ""),
      "the JWT request is an empty message",
    );
  });

  it("an upload Cumulocity refuses → 505 'Upload failed with ...', the command cleared", async () => {
    tenant.removeDevice("test-device");
    try {
      await operation({ id: "9004", c8y_LogfileRequest: { logFile: "app" } });
      const done = await status(/^50[56],9004/);
      assert.match(
        done.payload,
        /^505,9004,"?Upload failed with GET \/identity\/externalIds\/c8y_Serial\/test-device returned HTTP 404/,
      );
    } finally {
      tenant.addDevice("test-device");
    }
  });

  it("config_update of a tenant-hosted file: the agent downloads it through the local proxy, which adds the credentials", async () => {
    tenant.inventoryBinaries.set("88395", Buffer.from("level = 2\n"));
    const mark = seen.length;
    await operation({
      id: "9005",
      c8y_DownloadConfigFile: {
        type: "app.conf",
        url: `https://127.0.0.1:${tenant.port}/inventory/binaries/88395`,
      },
    });
    const done = await status(/^50[56],9005/, mark);
    assert.equal(done.payload, "506,9005");
    assert.equal(readFileSync(join(dir, "app.conf"), "utf8"), "level = 2\n");
    const get = tenant.requests.find((r) => r.path === "/inventory/binaries/88395");
    assert.match(String(get?.headers.authorization), /^Bearer /);
    assert.deepEqual(tenant.problems, []);
  });

  it("c8y_SoftwareUpdate of a tenant-hosted module: the agent fetches it through the proxy and the plugin installs that file", async () => {
    tenant.inventoryBinaries.set("777", Buffer.from("package bytes"));
    const mark = seen.length;
    await operation({
      id: "9006",
      c8y_SoftwareUpdate: [
        {
          name: "app",
          version: "1.0::fake",
          url: `https://127.0.0.1:${tenant.port}/inventory/binaries/777`,
          action: "install",
        },
      ],
    });
    const done = await status(/^50[56],9006/, mark);
    assert.equal(done.payload, "506,9006");
    assert.equal(readFileSync(join(dir, "installed"), "utf8"), "package bytes");
    assert.match(
      String(tenant.requests.find((r) => r.path === "/inventory/binaries/777")?.headers.authorization),
      /^Bearer /,
    );
    assert.deepEqual(tenant.problems, []);
  });

  // the proxy's own contract (bodies, UI refused, WebSocket, limits), on both servers: c8y-proxy.test.ts
  it("the proxy listens on c8y.proxy.bind.port and serves REST calls with the device's token", async () => {
    const r = await fetch(`http://127.0.0.1:${proxyPort}/c8y/identity/externalIds/c8y_Serial/test-device`);
    assert.equal(r.status, 200);
    assert.match(((await r.json()) as { managedObject: { id: string } }).managedObject.id, /^\d+$/);
    assert.deepEqual(tenant.problems, []);
  });
});

describe("the HTTP side cannot start (no device certificate)", () => {
  it("the mapper still maps, and a finished log request fails with the reason instead of hanging", async () => {
    const { startHarness } = await import("../helpers/mappers-bus.ts");
    const { createC8yMapperComponent } = await import("../../src/mappers/c8y/component.ts");
    const h = await startHarness("embedded", [createC8yMapperComponent], {
      "c8y.url": "tenant.example.com",
      "device.cert_path": "/nonexistent/cert.pem",
      "c8y.proxy.bind.port": await freePort(),
      "c8y.availability.enable": false,
    });
    try {
      await h.publish("te/device/main///m/", { a: 1, time: "2024-01-01T00:00:00Z" });
      await h.expect("c8y/measurement/measurements/create");
      const cmd = "te/device/main///cmd/log_upload/c8y-mapper-5";
      await h.publish(
        cmd,
        { status: "successful", type: "app", tedgeUrl: "http://127.0.0.1:1/x" },
        { retain: true },
      );
      const failed = await waitFor("505", () =>
        h.seen.find((m) => m.topic === "c8y/s/us" && m.payload.startsWith("505,5,")),
      );
      assert.match(
        failed.payload,
        /^505,5,"?cannot upload: the Cumulocity HTTP side is not running \(ENOENT/,
      );
      await h.expect(cmd, "");
    } finally {
      await h.stop();
    }
  });
});

describe("a basic-auth device (c8y.auth_method = basic, thin-edge's credentials file)", () => {
  it("uploads with Authorization: Basic and never asks for a JWT", async () => {
    const { startHarness } = await import("../helpers/mappers-bus.ts");
    const { createC8yMapperComponent } = await import("../../src/mappers/c8y/component.ts");
    const { createServer } = await import("node:http");
    const pki = createPki();
    const device = clientCert(pki, "test-device");
    const tenant = new C8yStandIn(pki, "test-device");
    await tenant.start();
    tenant.addDevice("test-device");
    tenant.acceptBasic("t100/device_test-device", "s3cret");
    const dir = mkdtempSync(join(tmpdir(), "ledge-c8y-basic-"));
    const creds = join(dir, "credentials.toml");
    writeFileSync(creds, '[c8y]\nusername = "t100/device_test-device"\npassword = "s3cret"\n');
    const fts = createServer((req, res) => {
      res.writeHead(req.method === "GET" ? 200 : 204);
      res.end(req.method === "GET" ? "basic log\n" : undefined);
    });
    await new Promise<void>((r) => fts.listen(0, "127.0.0.1", r));
    const h = await startHarness("embedded", [createC8yMapperComponent], {
      "c8y.http": `127.0.0.1:${tenant.port}`,
      "c8y.auth_method": "basic",
      "c8y.credentials_path": creds,
      "device.cert_path": device.cert,
      "device.key_path": device.key,
      "bridge.root_cert_path": pki.caCert,
      "c8y.proxy.bind.port": await freePort(),
      "c8y.availability.enable": false,
    });
    try {
      const cmd = "te/device/main///cmd/log_upload/c8y-mapper-8";
      const url = `http://127.0.0.1:${(fts.address() as import("node:net").AddressInfo).port}/te/v1/files/test-device/log_upload/app-c8y-mapper-8`;
      await h.publish(cmd, { status: "successful", type: "app", tedgeUrl: url }, { retain: true });
      const done = await waitFor("506", () =>
        h.seen.find((m) => m.topic === "c8y/s/us" && /^50[56],8/.test(m.payload)),
      );
      const eventId = /^506,8,https:.*\/event\/events\/(\d+)\/binaries$/.exec(done.payload)?.[1];
      assert.ok(eventId, done.payload);
      assert.equal(tenant.binaries.get(eventId)?.content.toString(), "basic log\n");
      assert.ok(tenant.requests.every((r) => String(r.headers.authorization).startsWith("Basic ")));
      assert.equal(h.seen.filter((m) => m.topic === "c8y/s/uat").length, 0);
      assert.deepEqual(tenant.problems, []);
    } finally {
      await h.stop();
      fts.close();
      await tenant.stop();
      pki.cleanup();
    }
  });
});
