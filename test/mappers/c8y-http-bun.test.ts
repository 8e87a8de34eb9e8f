/**
 * The Cumulocity HTTP side on Bun (the x64/arm64 binaries' runtime): the c8y mapper in a Bun
 * process uploads a finished log request to the HTTPS stand-in (client certificate, JWT over MQTT)
 * and proxies a REST call.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import mqtt from "mqtt";
import { C8yStandIn } from "../helpers/c8y-standin.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { ROOT } from "../helpers/targets-bin.ts";
import { clientCert, createPki } from "../helpers/tls-pki.ts";

const BUN = join(ROOT, "node_modules/.bin/bun");

it("on Bun: a log request is uploaded (event + binary, 506 with the URL) and the proxy serves REST calls", {
  skip: !existsSync(BUN) && "bun not installed",
}, async () => {
  const pki = createPki();
  const device = clientCert(pki, "test-device");
  const tenant = new C8yStandIn(pki, "test-device");
  await tenant.start();
  tenant.addDevice("test-device");
  // Plays the agent's file transfer service: the finished log.
  let deleted = false;
  const fts = createServer((req, res) => {
    if (req.method === "DELETE") deleted = true;
    res.writeHead(req.method === "GET" ? 200 : 204);
    res.end(req.method === "GET" ? "a log line\n" : undefined);
  });
  await new Promise<void>((r) => fts.listen(0, "127.0.0.1", r));
  const proxyPort = await freePort();
  const values = {
    "device.cert_path": device.cert,
    "device.key_path": device.key,
    "bridge.root_cert_path": pki.caCert,
    "c8y.http": `127.0.0.1:${tenant.port}`,
    "c8y.proxy.bind.port": proxyPort,
    "c8y.availability.enable": false,
    "data.path": mkdtempSync(join(tmpdir(), "ledge-bun-http-")),
  };
  const proc = spawn(BUN, [join(ROOT, "test/helpers/mappers-bun-server.ts"), JSON.stringify(values)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr.on("data", (d) => {
    err += d;
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      proc.stdout.on("data", (d) => {
        out += d;
        const m = /ready (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      proc.once("exit", () => reject(new Error(`bun server exited: ${err}`)));
    });
    const c = await mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 0 });
    const seen: { topic: string; payload: string }[] = [];
    c.on("message", (topic, p) => {
      seen.push({ topic, payload: p.toString() });
      if (topic === "c8y/s/uat") c.publish("c8y/s/dat", `71,${tenant.issueToken()}`);
    });
    await c.subscribeAsync(["c8y/#", "te/+/+/+/+/cmd/+/+"], { qos: 1 });
    await c.publishAsync("te/device/main///cmd/log_upload", '{"types":["app"]}', { qos: 1, retain: true });
    await waitFor("114", () => seen.find((s) => s.payload === "114,c8y_LogfileRequest"));
    await c.publishAsync(
      "c8y/devicecontrol/notifications",
      JSON.stringify({ id: "77", c8y_LogfileRequest: { logFile: "app" } }),
      { qos: 1 },
    );
    const cmd = await waitFor("the command", () =>
      seen.find((s) => s.topic.endsWith("/cmd/log_upload/c8y-mapper-77") && s.payload),
    );
    const url = `http://127.0.0.1:${(fts.address() as AddressInfo).port}/te/v1/files/test-device/log_upload/app-c8y-mapper-77`;
    await c.publishAsync(
      cmd.topic,
      JSON.stringify({ ...JSON.parse(cmd.payload), status: "successful", tedgeUrl: url }),
      { qos: 1, retain: true },
    );
    const done = await waitFor(
      "506",
      () => seen.find((s) => s.topic === "c8y/s/us" && /^50[56],77/.test(s.payload)),
      20_000,
    );
    const eventId = /^506,77,https:\/\/127\.0\.0\.1:\d+\/event\/events\/(\d+)\/binaries$/.exec(
      done.payload,
    )?.[1];
    assert.ok(eventId, `${done.payload} ${err}`);
    assert.equal(tenant.binaries.get(eventId)?.content.toString(), "a log line\n");
    assert.ok(deleted, "the log is deleted from the file transfer service");
    const r = await fetch(`http://127.0.0.1:${proxyPort}/c8y/identity/externalIds/c8y_Serial/test-device`);
    assert.equal(r.status, 200);
    assert.deepEqual(tenant.problems, []);
    await c.endAsync(true);
  } finally {
    proc.kill("SIGKILL");
    fts.close();
    await tenant.stop();
    pki.cleanup();
  }
});
