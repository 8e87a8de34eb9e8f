import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import mqtt from "mqtt";
import { LEDGE, ledge, ledgeSpawn, tempConfig } from "../helpers/cli.ts";
import { startMosquitto } from "../helpers/mosquitto.ts";
import { waitFor } from "../helpers/ports.ts";

const procs: ChildProcess[] = [];
after(() => {
  for (const p of procs) p.kill("SIGKILL");
});

async function startLedge(dir: string, args: string[] = ["run"]): Promise<ChildProcess> {
  const p = ledgeSpawn(["--config-dir", dir, ...args]);
  procs.push(p);
  let err = "";
  p.stderr?.on("data", (d) => {
    err += d;
  });
  await waitFor(
    `ledge ${args.join(" ")} to start (${err})`,
    () => /ledge running/.test(err) || undefined,
    30_000,
  );
  return p;
}

describe("ledge CLI", () => {
  it("--version prints the version and commit", () => {
    const r = ledge(["--version"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ledge \d+\.\d+\.\d+\S* \(\S+\)\n$/);
  });

  const commands = [
    [],
    ["run"],
    ["broker"],
    ["mqtt"],
    ["mqtt", "pub"],
    ["mqtt", "sub"],
    ["config"],
    ["config", "get"],
    ["config", "set"],
    ["config", "unset"],
    ["config", "list"],
    ["init"],
  ];
  for (const c of commands) {
    it(`ledge ${c.join(" ")} --help explains itself`, () => {
      const r = ledge([...c, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Usage: ledge/);
    });
  }

  it("an unknown command is refused with help", () => {
    const r = ledge(["frobnicate"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  it("config get/set/unset/list through --config-dir and LEDGE_CONFIG_DIR", () => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-cli-"));
    assert.equal(ledge(["--config-dir", dir, "config", "set", "mqtt.bind.port", "2883"]).code, 0);
    assert.equal(ledge(["config", "get", "mqtt.bind.port"], { LEDGE_CONFIG_DIR: dir }).stdout, "2883\n");
    assert.equal(
      ledge(["-c", dir, "config", "get", "mqtt.bind.port"], { LEDGE_MQTT_BIND_PORT: "4883" }).stdout,
      "4883\n",
    );
    assert.match(ledge(["-c", dir, "config", "list"]).stdout, /^mqtt\.bind\.port=2883$/m);
    const all = ledge(["-c", dir, "config", "list", "--all", "--doc"]).stdout;
    assert.match(all, /mqtt\.bind\.address {2}\(string; default 127\.0\.0\.1; env LEDGE_MQTT_BIND_ADDRESS\)/);
    assert.equal(ledge(["-c", dir, "config", "unset", "mqtt.bind.port"]).code, 0);
    assert.equal(ledge(["-c", dir, "config", "get", "mqtt.bind.port"]).stdout, "1883\n");
  });

  it("config: an unknown key or a bad value is a clear error naming the key", () => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-cli-"));
    const r1 = ledge(["-c", dir, "config", "set", "mqtt.bogus", "1"]);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /unknown config key 'mqtt.bogus'/);
    const r2 = ledge(["-c", dir, "config", "set", "mqtt.bind.port", "http"]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /invalid value for 'mqtt.bind.port': expected an integer, got 'http'/);
  });

  it("init creates the config and data dirs with safe permissions", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "ledge-cli-")), "etc");
    assert.equal(ledge(["-c", dir, "config", "set", "data.path", "data"]).code, 0);
    const r = ledge(["-c", dir, "init", "--device-id", "gw-7"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(join(dir, "data")).mode & 0o777, 0o750);
    assert.equal(ledge(["-c", dir, "config", "get", "device.id"]).stdout, "gw-7\n");
  });

  it("init --service writes the service for the init system it finds under --root", () => {
    const base = mkdtempSync(join(tmpdir(), "ledge-cli-"));
    const dir = join(base, "etc");
    mkdirSync(join(base, "root", "run", "systemd", "system"), { recursive: true });
    assert.equal(ledge(["-c", dir, "config", "set", "data.path", "data"]).code, 0);
    const r = ledge(["-c", dir, "init", "--service", "--root", join(base, "root")]);
    assert.equal(r.code, 0, r.stderr);
    const unit = readFileSync(join(base, "root", "etc", "systemd", "system", "ledge.service"), "utf8");
    assert.match(unit, /Type=notify/);
    assert.match(unit, /WatchdogSec=/);
  });

  it("mqtt pub refuses wildcards and empty topics", () => {
    for (const [topic, error] of [
      ["a/+/b", /contains a wildcard/],
      ["a/#", /contains a wildcard/],
      ["", /topic is empty/],
    ] as const) {
      const r = ledge(["mqtt", "pub", topic, "x"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, error);
    }
    assert.match(ledge(["mqtt", "pub", "a", "x", "--qos", "3"]).stderr, /--qos must be 0, 1 or 2/);
    assert.match(ledge(["mqtt", "sub", "a/#/b"]).stderr, /'#' must be the last level/);
  });

  it("mqtt pub on a dead broker says where it tried", async () => {
    const { dir } = await tempConfig();
    const r = ledge(["-c", dir, "mqtt", "pub", "a", "x"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot connect to the MQTT broker at 127\.0\.0\.1:\d+/);
  });

  it("ledge run: pub/sub round trip and retained registration/health via mosquitto_sub-like sub", async () => {
    const { dir } = await tempConfig();
    await startLedge(dir);
    const sub = ledge([
      "-c",
      dir,
      "mqtt",
      "sub",
      "te/device/main/service/+/status/health",
      "--duration",
      "1",
    ]);
    assert.match(sub.stdout, /^\[te\/device\/main\/service\/ledge-api\/status\/health\] \{"status":"up"/m);
    assert.match(sub.stdout, /^\[te\/device\/main\/service\/ledge-broker\/status\/health\] \{"status":"up"/m);
    // A retained message reaches the subscriber on subscribe; once it has, the subscription is
    // in place and a live message must arrive too.
    assert.equal(ledge(["-c", dir, "mqtt", "pub", "demo/1", "hello", "--retain", "--qos", "1"]).code, 0);
    const [cmd, ...pre] = LEDGE as [string, ...string[]];
    const waiter = spawn(cmd, [...pre, "-c", dir, "mqtt", "sub", "demo/#", "--count", "2", "--no-topic"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    waiter.stdout.on("data", (d) => {
      out += d;
    });
    await waitFor("the retained message", () => out.includes("hello") || undefined, 15_000);
    assert.equal(ledge(["-c", dir, "mqtt", "pub", "demo/2", "world", "--qos", "1"]).code, 0);
    const code = await new Promise((r) => waiter.on("exit", r));
    assert.equal(code, 0);
    assert.equal(out, "hello\nworld\n");
  });

  it("ledge mqtt sub exits with an error when the broker goes away", async () => {
    const mosq = await startMosquitto();
    try {
      const { dir } = await tempConfig();
      const sub = ledgeSpawn(["-c", dir, "mqtt", "sub", "demo/#"], {
        LEDGE_MQTT_CLIENT_PORT: String(mosq.port),
      });
      procs.push(sub);
      let err = "";
      sub.stderr?.on("data", (d) => {
        err += d;
      });
      const exited = once(sub, "exit");
      const c = await mqtt.connectAsync({ host: "127.0.0.1", port: mosq.port });
      await c.publishAsync("demo/ready", "x", { retain: true });
      await c.endAsync();
      await waitFor("the subscriber to receive", () => sub.stdout?.read() ?? undefined, 15_000);
      await mosq.stop();
      const timeout = setTimeout(() => sub.kill("SIGKILL"), 5000);
      const [code] = await exited;
      clearTimeout(timeout);
      assert.equal(code, 1, `exit code ${code}, stderr: ${err}`);
      assert.match(err, /lost the connection to the MQTT broker/);
    } finally {
      await mosq.stop();
    }
  });

  it("ledge run on a port already in use exits with a clear error", async () => {
    const { dir, port } = await tempConfig();
    const blocker = createServer().listen(port, "127.0.0.1");
    await once(blocker, "listening");
    try {
      const r = ledge(["-c", dir, "run"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      blocker.close();
    }
  });

  it("ledge run survives malformed input and reports it on te/errors", async () => {
    const { dir, port } = await tempConfig();
    const p = await startLedge(dir);
    const c = await mqtt.connectAsync({ host: "127.0.0.1", port });
    const errors: string[] = [];
    c.on("message", (_t, m) => errors.push(m.toString()));
    await c.subscribeAsync("te/errors");
    await c.publishAsync("te/device/main///m/env", "not json");
    await waitFor("te/errors", () => errors[0]);
    assert.equal(p.exitCode, null, "still running");
    await c.endAsync();
  });

  it("external broker: kill -9 of `ledge run` leaves the last will `down` on every component's health", async () => {
    const mosq = await startMosquitto();
    try {
      const { dir } = await tempConfig({ "mqtt.broker": "external", "run.components": ["api"] });
      const env = { LEDGE_MQTT_CLIENT_PORT: String(mosq.port) };
      const p = ledgeSpawn(["--config-dir", dir, "run"], env);
      procs.push(p);
      const c = await mqtt.connectAsync({ host: "127.0.0.1", port: mosq.port });
      const health = new Map<string, string>();
      c.on("message", (t, m) => health.set(t, m.toString()));
      await c.subscribeAsync("te/device/main/service/+/status/health");
      const topic = "te/device/main/service/ledge-api/status/health";
      await waitFor("up", () => health.get(topic)?.includes('"up"') || undefined, 30_000);
      p.kill("SIGKILL");
      await waitFor("last will down", () => health.get(topic)?.includes('"down"') || undefined, 60_000, 100);
      await c.endAsync();
    } finally {
      await mosq.stop();
    }
  });
});
