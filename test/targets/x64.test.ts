/**
 * The compiled x64 binary (Bun) end to end: version, config, `ledge run` with the embedded broker,
 * retained health, `ledge mqtt pub|sub` against it, te/errors on a malformed measurement, clean stop.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { freePort, waitFor } from "../helpers/ports.ts";
import {
  cleanEnv,
  type Daemon,
  ensureBuilt,
  ROOT,
  runBinary,
  startBinary,
  target,
  tempConfigDir,
} from "../helpers/targets-bin.ts";

const X64 = target("linux-x64");

function expectedVersion(): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {}
  return `ledge ${version} (${commit})`;
}

async function connectWithRetry(port: number): Promise<MqttClient> {
  return waitFor(
    `an MQTT connection to 127.0.0.1:${port}`,
    async () => {
      try {
        return await mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 0, connectTimeout: 1000 });
      } catch {
        return undefined;
      }
    },
    10_000,
    50,
  );
}

describe("linux-x64 binary", () => {
  before(() => ensureBuilt(["linux-x64"]));

  test("--version prints the package version and the build commit", async () => {
    const r = await runBinary(X64, ["--version"]);
    assert.equal(r.code, 0, r.stderr);
    // the build may predate the last commit when the tree moved on; the version part must match
    const [name, version] = expectedVersion().split(" ");
    const escaped = String(version).replace(/\./g, "\\.");
    assert.match(r.stdout.trim(), new RegExp(`^${name} ${escaped} \\(([0-9a-f]{4,}|unknown)\\)$`));
  });

  test("--help lists the commands", async () => {
    const r = await runBinary(X64, ["--help"]);
    assert.equal(r.code, 0, r.stderr);
    for (const c of ["run", "broker", "mqtt", "config"]) assert.match(r.stdout, new RegExp(`\\n  ${c}\\b`));
  });

  test("config set/get/unset round trip and a clear error for an unknown key", async () => {
    const cfg = tempConfigDir(1883);
    try {
      const base = ["--config-dir", cfg.dir, "config"];
      assert.equal((await runBinary(X64, [...base, "set", "mqtt.bind.port", "18999"])).code, 0);
      const got = await runBinary(X64, [...base, "get", "mqtt.bind.port"]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout.trim(), "18999");
      assert.match(readFileSync(join(cfg.dir, "ledge.toml"), "utf8"), /18999/);

      const env = await runBinary(X64, [...base, "get", "mqtt.bind.port"], {
        env: cleanEnv({ LEDGE_MQTT_BIND_PORT: "18777" }),
      });
      assert.equal(env.stdout.trim(), "18777", "LEDGE_MQTT_BIND_PORT overrides the file");

      assert.equal((await runBinary(X64, [...base, "unset", "mqtt.bind.port"])).code, 0);
      assert.equal((await runBinary(X64, [...base, "get", "mqtt.bind.port"])).stdout.trim(), "1883");

      const bad = await runBinary(X64, [...base, "set", "no.such.key", "1"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /no\.such\.key/);
      const badValue = await runBinary(X64, [...base, "set", "mqtt.bind.port", "not-a-port"]);
      assert.equal(badValue.code, 1);
      assert.match(badValue.stderr, /mqtt\.bind\.port/);
    } finally {
      cfg.cleanup();
    }
  });

  describe("ledge run", () => {
    let port = 0;
    let cfg: ReturnType<typeof tempConfigDir>;
    let daemon: Daemon;
    let client: MqttClient;

    before(async () => {
      port = await freePort();
      cfg = tempConfigDir(port);
      daemon = startBinary(X64, ["--config-dir", cfg.dir, "run"]);
      client = await connectWithRetry(port);
    });

    after(async () => {
      await client?.endAsync();
      await daemon?.stop();
      cfg?.cleanup();
    });

    test("publishes retained health `up` for its components", async () => {
      const seen = new Map<string, string>();
      client.on("message", (topic, payload) => {
        if (topic.endsWith("/status/health")) seen.set(topic, JSON.parse(payload.toString()).status);
      });
      await client.subscribeAsync("te/device/main/service/+/status/health");
      await waitFor(
        "health up from ledge-broker and ledge-api",
        () =>
          seen.get("te/device/main/service/ledge-broker/status/health") === "up" &&
          seen.get("te/device/main/service/ledge-api/status/health") === "up",
        5_000,
      );
    });

    test("`ledge mqtt sub` prints what is published live, `[topic] payload`", async () => {
      const sub = runBinary(X64, ["--config-dir", cfg.dir, "mqtt", "sub", "test/x64/sub", "--count", "1"], {
        timeoutMs: 15_000,
      });
      let done = false;
      void sub.finally(() => {
        done = true;
      });
      // the subscriber's SUBACK is invisible from here: publish until it has printed one
      while (!done) {
        await client.publishAsync("test/x64/sub", "hello from mqtt.js");
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await sub;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split("\n")[0], "[test/x64/sub] hello from mqtt.js");
    });

    test("`ledge mqtt pub` reaches a subscriber; a wildcard topic is refused", async () => {
      const got = new Promise<string>((resolve) =>
        client.on("message", (topic, payload) => {
          if (topic === "test/x64/pub") resolve(payload.toString());
        }),
      );
      await client.subscribeAsync("test/x64/pub", { qos: 1 });
      const r = await runBinary(X64, [
        "--config-dir",
        cfg.dir,
        "mqtt",
        "pub",
        "test/x64/pub",
        '{"a":1}',
        "--qos",
        "1",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await got, '{"a":1}');

      const bad = await runBinary(X64, ["--config-dir", cfg.dir, "mqtt", "pub", "test/+/x", "x"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /wildcard|\+/i);
    });

    test("a malformed measurement yields te/errors and ledge stays up", async () => {
      const err = new Promise<string>((resolve) =>
        client.on("message", (topic, payload) => {
          if (topic === "te/errors") resolve(payload.toString());
        }),
      );
      await client.subscribeAsync("te/errors");
      await client.publishAsync("te/device/main///m/env", "{not json");
      assert.match(await err, /te\/device\/main\/\/\/m\/env/);
      assert.equal(daemon.proc.exitCode, null, "ledge still running");
      const r = await runBinary(X64, [
        "--config-dir",
        cfg.dir,
        "mqtt",
        "pub",
        "te/device/main///m/env",
        '{"t":1}',
      ]);
      assert.equal(r.code, 0, "the broker still accepts clients");
    });

    test("SIGTERM stops it cleanly", async () => {
      await client.endAsync();
      const code = await daemon.stop(5_000);
      assert.equal(code, 0, daemon.output());
    });
  });
});
