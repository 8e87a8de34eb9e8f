import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { loadConfig } from "../../src/config/store.ts";
import { type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";
import { cloudBrokerConfig, createPki, type Pki } from "../helpers/tls-pki.ts";
import { rm } from "./harness.ts";

const run = promisify(execFile);

/** Runs the real CLI; resolves with exit code and output, never throws. */
async function ledge(dir: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "--config-dir", dir, ...args],
      {
        env: { ...process.env, LEDGE_CONFIG_DIR: "" },
      },
    );
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

const openssl = (...args: string[]) =>
  execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const mode = (p: string) => statSync(p).mode & 0o777;

describe("ledge cert", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rm(d);
  });
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), "ledge-cert-"));
    dirs.push(d);
    return d;
  };

  it("create: EC P-256 key (mode 0600), self-signed cert CN=<id> (0644), device.id set; refuses to overwrite without --force", async () => {
    const d = dir();
    const r = await ledge(d, "cert", "create", "--device-id", "gw-0001");
    assert.equal(r.code, 0, r.err);
    const cert = join(d, "device-cert.pem");
    const key = join(d, "device-key.pem");
    assert.equal(mode(key), 0o600);
    assert.equal(mode(cert), 0o644);
    assert.match(openssl("x509", "-in", cert, "-noout", "-subject"), /CN = gw-0001/);
    assert.match(openssl("pkey", "-in", key, "-noout", "-text"), /prime256v1|P-256/);
    assert.equal(
      openssl("x509", "-in", cert, "-noout", "-pubkey"),
      openssl("pkey", "-in", key, "-pubout"),
      "key matches the certificate",
    );
    assert.match(openssl("verify", "-CAfile", cert, cert), /OK/);
    assert.equal(loadConfig(d, {}).get("device.id"), "gw-0001");
    const before = readFileSync(cert, "utf8");
    const again = await ledge(d, "cert", "create", "--device-id", "gw-0001");
    assert.equal(again.code, 1);
    assert.match(again.err, /already exists at .*device-cert\.pem \(CN=gw-0001\); use --force/);
    assert.equal(readFileSync(cert, "utf8"), before);
    const forced = await ledge(d, "cert", "create", "--device-id", "gw-0001", "--force");
    assert.equal(forced.code, 0, forced.err);
    assert.notEqual(readFileSync(cert, "utf8"), before);
  });

  it("create refuses a device id that cannot be a CN / client id", async () => {
    const r = await ledge(dir(), "cert", "create", "--device-id", "bad id,O=x");
    assert.equal(r.code, 1);
    assert.match(r.err, /may only contain letters, digits/);
  });

  it("show prints subject, issuer, validity and fingerprints; create-csr signs with the existing key; remove deletes", async () => {
    const d = dir();
    assert.equal((await ledge(d, "cert", "create", "--device-id", "gw-2")).code, 0);
    const show = await ledge(d, "cert", "show");
    assert.equal(show.code, 0, show.err);
    const fp = openssl("x509", "-in", join(d, "device-cert.pem"), "-noout", "-fingerprint", "-sha256")
      .split("=")[1]!
      .trim();
    assert.match(show.out, /subject: +CN=gw-2, O=ledge, OU=Device/);
    assert.match(show.out, /issuer: +CN=gw-2.*\(self-signed\)/);
    assert.match(show.out, /valid until: +\d{4}-/);
    assert.match(show.out, /status: +valid/);
    assert.ok(show.out.includes(`SHA-256:     ${fp}`), show.out);
    assert.match(show.out, /key: .* matches/);
    const csr = await ledge(d, "cert", "create-csr");
    assert.equal(csr.code, 0, csr.err);
    const req = join(d, "device.csr");
    assert.match(openssl("req", "-in", req, "-noout", "-verify", "-subject"), /CN = gw-2/);
    assert.equal(
      openssl("req", "-in", req, "-noout", "-pubkey"),
      openssl("pkey", "-in", join(d, "device-key.pem"), "-pubout"),
    );
    const rmv = await ledge(d, "cert", "remove");
    assert.match(rmv.out, /removed .*device-cert\.pem\nremoved .*device-key\.pem/);
    const gone = await ledge(d, "cert", "show");
    assert.equal(gone.code, 1);
    assert.match(gone.err, /no certificate at .*ledge cert create/);
  });

  it("show reports a garbage certificate file clearly", async () => {
    const d = dir();
    writeFileSync(join(d, "device-cert.pem"), "not a certificate");
    const r = await ledge(d, "cert", "show");
    assert.equal(r.code, 1);
    assert.match(r.err, /device-cert\.pem: not a PEM X\.509 certificate/);
  });
});

describe("ledge connect / disconnect", () => {
  let pki: Pki;
  let cloud: Mosquitto;
  let tlsPort: number;
  let plainPort: number;
  let trusted: string;
  const dirs: string[] = [];

  before(async () => {
    pki = createPki();
    // The device's self-signed certificate is registered at the cloud by trusting it as a CA.
    trusted = mkdtempSync(join(tmpdir(), "ledge-connect-"));
    dirs.push(trusted);
    assert.equal((await ledge(trusted, "cert", "create", "--device-id", "conn-dev")).code, 0);
    const cfg = await cloudBrokerConfig(pki, [pki.caCert, join(trusted, "device-cert.pem")]);
    tlsPort = cfg.tlsPort;
    plainPort = cfg.plainPort;
    cloud = await startMosquitto(cfg.lines, tlsPort);
  });
  after(async () => {
    await cloud?.stop();
    pki?.cleanup();
    for (const d of dirs) rm(d);
  });

  const setUrl = async (d: string, url: string) => {
    assert.equal((await ledge(d, "config", "set", "c8y.url", url)).code, 0);
    assert.equal((await ledge(d, "config", "set", "bridge.root_cert_path", pki.caCert)).code, 0);
  };

  it("--test with a trusted self-signed certificate passes and changes nothing; connect enables mapper and bridge; disconnect reverses", async () => {
    await setUrl(trusted, `127.0.0.1:${tlsPort}`);
    const t = await ledge(trusted, "connect", "c8y", "--test");
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /certificate ok: CN=conn-dev/);
    assert.match(
      t.out,
      /connection ok \(\d+ ms\): TCP to 127\.0\.0\.1:\d+; TLS \(server certificate trusted, device certificate accepted\); MQTT CONNACK accepted/,
    );
    assert.equal(loadConfig(trusted, {}).get("bridge.c8y.enable"), false);
    const c = await ledge(trusted, "connect", "c8y");
    assert.equal(c.code, 0, c.err);
    let cfg = loadConfig(trusted, {});
    assert.equal(cfg.get("bridge.c8y.enable"), true);
    assert.ok(cfg.get("run.components").includes("c8y-mapper"));
    assert.ok(cfg.get("run.components").includes("bridge"));
    const dc = await ledge(trusted, "disconnect", "c8y");
    assert.equal(dc.code, 0, dc.err);
    cfg = loadConfig(trusted, {});
    assert.equal(cfg.get("bridge.c8y.enable"), false);
    assert.ok(!cfg.get("run.components").includes("c8y-mapper"));
    assert.ok(!cfg.get("run.components").includes("bridge"));
    const rc = await ledge(trusted, "reconnect", "c8y");
    assert.equal(rc.code, 0, rc.err);
    assert.equal(loadConfig(trusted, {}).get("bridge.c8y.enable"), true);
  });

  it("--test of a plain mqtt:// cloud names what it verified: TCP and MQTT, and that there was no TLS", async () => {
    const d = mkdtempSync(join(tmpdir(), "ledge-connect-"));
    dirs.push(d);
    assert.equal(
      (await ledge(d, "config", "set", "mqtt.cloud.url", `mqtt://127.0.0.1:${plainPort}`)).code,
      0,
    );
    assert.equal((await ledge(d, "config", "set", "bridge.mqtt.use_cert", "false")).code, 0);
    const r = await ledge(d, "connect", "mqtt", "--test");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /TCP to 127\.0\.0\.1:\d+; MQTT CONNACK accepted; no TLS: plain mqtt:\/\/ URL/);
    assert.doesNotMatch(r.out, /TLS \(/);
  });

  it("--test with a certificate the cloud does not trust says the certificate was rejected", async () => {
    const d = mkdtempSync(join(tmpdir(), "ledge-connect-"));
    dirs.push(d);
    assert.equal((await ledge(d, "cert", "create", "--device-id", "conn-dev")).code, 0);
    await setUrl(d, `127.0.0.1:${tlsPort}`);
    const r = await ledge(d, "connect", "c8y", "--test");
    assert.equal(r.code, 1);
    assert.match(r.err, /c8y \(127\.0\.0\.1:\d+\) rejected the device certificate/);
  });

  it("reports a missing URL, an unreachable host, an unknown host and a key that does not match", async () => {
    const d = mkdtempSync(join(tmpdir(), "ledge-connect-"));
    dirs.push(d);
    assert.equal((await ledge(d, "cert", "create", "--device-id", "conn-dev")).code, 0);
    let r = await ledge(d, "connect", "c8y", "--test");
    assert.match(r.err, /c8y\.url is not set/);
    await setUrl(d, "127.0.0.1:1");
    r = await ledge(d, "connect", "c8y", "--test");
    assert.match(r.err, /refused the connection: nothing listens on that port/);
    await setUrl(d, "no-such-host.invalid");
    r = await ledge(d, "connect", "c8y", "--test");
    assert.match(r.err, /cannot resolve c8y \(no-such-host\.invalid:8883\)/);
    writeFileSync(join(d, "device-key.pem"), readFileSync(join(trusted, "device-key.pem")));
    r = await ledge(d, "connect", "c8y", "--test");
    assert.match(r.err, /private key .* does not match the certificate/);
    r = await ledge(d, "connect", "nowhere");
    assert.match(r.err, /unknown cloud 'nowhere'/);
  });
});
