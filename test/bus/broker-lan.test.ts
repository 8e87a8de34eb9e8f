import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import { brokerOptions } from "../../src/bus/broker-config.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { tempConfig } from "../helpers/cli.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { clientCert, createCa, createPki, issue, type Pki } from "../helpers/tls-pki.ts";

const log = createLogger({ level: "error" });

describe("broker LAN listener (mqtt.external.*): TLS, client certificates, password file, ACL", () => {
  let pki: Pki;
  let broker: EmbeddedBroker;
  let lan: number;
  const seen: string[] = [];

  before(async () => {
    pki = createPki();
    const pw = join(pki.dir, "passwd");
    execFileSync("mosquitto_passwd", ["-c", "-b", pw, "alice", "secret"]);
    const acl = join(pki.dir, "acl");
    writeFileSync(
      acl,
      [
        "user alice",
        "topic write te/device/alice/#",
        "topic read te/device/alice/cmd/#",
        "pattern readwrite te/device/%u/m/#",
        "",
      ].join("\n"),
    );
    lan = await freePort();
    const { dir } = await tempConfig({
      "broker.persistence": "memory",
      "mqtt.external.bind.address": "127.0.0.1",
      "mqtt.external.bind.port": lan,
      "mqtt.external.cert_file": pki.serverCert,
      "mqtt.external.key_file": pki.serverKey,
      "mqtt.external.ca_path": pki.caCert,
      "mqtt.external.password_file": pw,
      "mqtt.external.acl_file": acl,
    });
    const config = loadConfig(dir, {});
    broker = await EmbeddedBroker.start({ ...brokerOptions(config, log), port: 0 });
    broker.core.subscribeLocal(
      { filters: ["#"], deliver: (m) => seen.push(`${m.topic}=${Buffer.from(m.payload)}`) },
      Date.now(),
    );
  });
  after(async () => {
    await broker.stop();
    pki.cleanup();
  });

  /** mosquitto_pub, asynchronously: the broker runs in this process. */
  const pub = (args: string[]) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      execFile(
        "mosquitto_pub",
        ["-h", "127.0.0.1", "-p", `${lan}`, "--cafile", pki.caCert, "-q", "1", ...args],
        { timeout: 10_000 },
        (e, _out, stderr) => resolve({ status: e ? ((e as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });

  it("the README's example: mosquitto_pub over TLS with a user name and password", async () => {
    const r = await pub(["-u", "alice", "-P", "secret", "-t", "te/device/alice///m/", "-m", '{"temp":21}']);
    assert.equal(r.status, 0, r.stderr);
    await waitFor("message", () => seen.includes('te/device/alice///m/={"temp":21}') || undefined);
  });

  it("a wrong password is refused (bad user name or password)", async () => {
    const r = await pub(["-u", "alice", "-P", "wrong", "-t", "te/device/alice///m/", "-m", "x"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /not authori[sz]ed|bad user name or password|Connection Refused/i);
  });

  it("a client certificate from the CA stands in for the password (user = CN); one from another CA is refused", async () => {
    const good = clientCert(pki, "alice");
    const r = await pub([
      "--cert",
      good.cert,
      "--key",
      good.key,
      "-t",
      "te/device/alice/cert",
      "-m",
      "by-cert",
    ]);
    assert.equal(r.status, 0, r.stderr);
    await waitFor("cert message", () => seen.includes("te/device/alice/cert=by-cert") || undefined);
    const other = createCa(pki.dir, "other-ca");
    const bad = issue(pki.dir, other, "mallory", "alice", "extendedKeyUsage=clientAuth");
    const r2 = await pub([
      "--cert",
      bad.cert,
      "--key",
      bad.key,
      "-t",
      "te/device/alice/cert",
      "-m",
      "forged",
    ]);
    assert.notEqual(r2.status, 0);
    assert.ok(!seen.includes("te/device/alice/cert=forged"));
  });

  it("the ACL: a publish outside the user's topics is dropped, a subscription outside them refused", async () => {
    const c = mqtt.connect({
      host: "127.0.0.1",
      port: lan,
      protocol: "mqtts",
      ca: readFileSync(pki.caCert),
      username: "alice",
      password: "secret",
      clientId: "alice-acl",
      reconnectPeriod: 0,
      protocolVersion: 5,
    });
    await new Promise((resolve, reject) => {
      c.once("connect", resolve);
      c.once("error", reject);
    });
    const denied = await c
      .subscribeAsync("c8y/#", { qos: 1 })
      .catch((e: { packet?: { granted?: number[] } }) => e);
    assert.deepEqual(
      (denied as { packet?: { granted?: number[] } }).packet?.granted,
      [0x87],
      "SUBACK Not authorized",
    );
    const allowed = await c.subscribeAsync("te/device/alice/cmd/#", { qos: 1 });
    assert.equal(allowed[0]?.qos, 1);
    const ack = await c.publishAsync("te/device/bob///m/", "not mine", { qos: 1 }).catch((e: Error) => e);
    assert.ok(
      ack instanceof Error || (ack as { reasonCode?: number })?.reasonCode === 0x87,
      "PUBACK Not authorized",
    );
    await c.publishAsync("te/device/alice///m/", "mine", { qos: 1 });
    await waitFor("allowed publish", () => seen.includes("te/device/alice///m/=mine") || undefined);
    assert.ok(!seen.includes("te/device/bob///m/=not mine"));
    await c.endAsync();
  });

  it("the loopback listener stays open to local clients without credentials", async () => {
    const c = mqtt.connect({ host: "127.0.0.1", port: broker.port, clientId: "local", reconnectPeriod: 0 });
    await new Promise((r) => c.once("connect", r));
    await c.publishAsync("c8y/anything", "local", { qos: 1 });
    await waitFor("local", () => seen.includes("c8y/anything=local") || undefined);
    await c.endAsync();
  });
});
