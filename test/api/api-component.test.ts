import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { type Running, run } from "../../src/app/run.ts";
import { type Config, loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { tempConfig } from "../helpers/cli.ts";
import { startMosquitto } from "../helpers/mosquitto.ts";
import { waitFor } from "../helpers/ports.ts";

const log = createLogger({ level: "error" });

/** An observer on the bus: a plain MQTT client, as a third-party component would be. */
async function observer(
  port: number,
): Promise<{ client: MqttClient; seen: Map<string, string>; errors: string[] }> {
  const client = await mqtt.connectAsync({ host: "127.0.0.1", port, clientId: `obs-${Math.random()}` });
  const seen = new Map<string, string>();
  const errors: string[] = [];
  client.on("message", (topic, payload) => {
    if (topic === "te/errors") errors.push(payload.toString());
    else seen.set(topic, payload.toString());
  });
  await client.subscribeAsync("te/#", { qos: 1 });
  return { client, seen, errors };
}

function apiSuite(
  name: string,
  start: () => Promise<{
    running: Running;
    port: number;
    dir: string;
    restart(): Promise<Running>;
    close(): Promise<void>;
  }>,
) {
  describe(name, () => {
    let env: Awaited<ReturnType<typeof start>>;
    let obs: Awaited<ReturnType<typeof observer>>;
    after(async () => {
      await obs?.client.endAsync();
      await env?.close();
    });

    it("publishes retained registration and health `up` of its components", async () => {
      env = await start();
      obs = await observer(env.port);
      const health = await waitFor("api health", () =>
        obs.seen.get("te/device/main/service/ledge-api/status/health"),
      );
      assert.equal(JSON.parse(health).status, "up");
      assert.equal(JSON.parse(health).pid, process.pid);
      const reg = JSON.parse(
        await waitFor("service registration", () => obs.seen.get("te/device/main/service/ledge-api")),
      );
      assert.deepEqual(reg, {
        "@type": "service",
        "@parent": "device/main//",
        name: "ledge-api",
        type: "service",
      });
      await waitFor("main device", () => obs.seen.get("te/device/main//"));
    });

    it("answers cmd/health/check with a fresh status", async () => {
      const topic = "te/device/main/service/ledge-api/status/health";
      obs.seen.delete(topic);
      await obs.client.publishAsync("te/device/main/service/ledge-api/cmd/health/check", "{}");
      await waitFor("fresh health", () => obs.seen.get(topic));
    });

    const bad: [string, string, string, RegExp][] = [
      [
        "malformed JSON",
        "te/device/main///m/env",
        "{temp: 1",
        /Invalid measurement on te\/device\/main\/\/\/m\/env: invalid JSON/,
      ],
      ["too-deep nesting", "te/device/main///m/env", '{"a":{"b":{"c":1}}}', /nest at most one level/],
      ["wrong type", "te/device/main///m/env", '{"temp":"hot"}', /'temp' must be a number/],
      ["empty measurement", "te/device/main///m/env", "{}", /at least one value/],
      ["bad alarm text", "te/device/main///a/x", '{"text":5}', /Invalid alarm .* 'text' must be a string/],
      ["bad event time", "te/device/main///e/x", '{"time":"soon"}', /Invalid event .* not an ISO 8601/],
      ["bad registration", "te/device/kid//", '{"@type":"robot"}', /Invalid registration .* '@type'/],
      ["invalid topic", "te/device/x", "{}", /Invalid topic te\/device\/x/],
      ["unknown channel", "te/device/main///zz/x", "{}", /unknown channel 'zz'/],
      [
        "non-default scheme",
        "te/plant/line1/robot/arm/m/x",
        '{"a":1}',
        /does not match the default topic scheme .* Try explicit registration instead/,
      ],
      ["binary garbage", "te/device/main///m/env", "\u0000\u00ff\u00fe", /invalid JSON/],
    ];
    for (const [what, topic, payload, error] of bad) {
      it(`${what} → clear message on te/errors, ledge stays up`, async () => {
        obs.errors.length = 0;
        await obs.client.publishAsync(topic, payload);
        const e = await waitFor("te/errors", () => obs.errors[0]);
        assert.match(e, error);
      });
    }

    it("a payload over mqtt.max_payload_bytes is refused with the limit named", async () => {
      obs.errors.length = 0;
      await obs.client.publishAsync("te/device/main///m/env", `{"a":1,"pad":"${"x".repeat(300_000)}"}`);
      assert.match(await waitFor("te/errors", () => obs.errors[0]), /exceeds the limit of 262144/);
    });

    it("auto-registers a default-scheme child and its service, parents first", async () => {
      await obs.client.publishAsync("te/device/child1/service/app/m/", '{"temp":1}');
      const child = JSON.parse(await waitFor("child", () => obs.seen.get("te/device/child1//")));
      assert.deepEqual(child, { "@type": "child-device", "@parent": "device/main//", name: "child1" });
      const svc = JSON.parse(await waitFor("service", () => obs.seen.get("te/device/child1/service/app")));
      assert.deepEqual(svc, { "@type": "service", "@parent": "device/child1//", name: "app" });
    });

    it("explicit registration of a non-default entity lets its data through", async () => {
      await obs.client.publishAsync("te/plant/line1/robot/arm", '{"@type":"child-device","name":"arm"}', {
        retain: true,
        qos: 1,
      });
      obs.errors.length = 0;
      await obs.client.publishAsync("te/plant/line1/robot/arm/m/x", '{"a":1}', { qos: 1 });
      // Positive control, published after it on the same connection (so handled after it): the same
      // data from an unregistered entity of that scheme is refused.
      await obs.client.publishAsync("te/plant/line2/robot/arm/m/x", '{"a":1}', { qos: 1 });
      await waitFor("control refused", () => obs.errors.find((e) => e.includes("plant/line2")));
      assert.deepEqual(
        obs.errors.filter((e) => e.includes("plant/line1")),
        [],
      );
    });

    it("deregistration clears the entity's retained messages and its children", async () => {
      await obs.client.publishAsync("te/device/gone//", '{"@type":"child-device","name":"gone"}', {
        retain: true,
        qos: 1,
      });
      await obs.client.publishAsync("te/device/gone/service/s/m/", '{"a":1}');
      await obs.client.publishAsync("te/device/gone///a/hot", '{"text":"hot"}', { retain: true, qos: 1 });
      await obs.client.publishAsync("te/device/gone///twin/fw", '"1.0"', { retain: true, qos: 1 });
      await waitFor("service auto-registered", () => obs.seen.get("te/device/gone/service/s"));
      await obs.client.publishAsync("te/device/gone//", "", { retain: true, qos: 1 });
      await waitFor("alarm cleared", () => obs.seen.get("te/device/gone///a/hot") === "" || undefined);
      await waitFor("twin cleared", () => obs.seen.get("te/device/gone///twin/fw") === "" || undefined);
      await waitFor(
        "child service cleared",
        () => obs.seen.get("te/device/gone/service/s") === "" || undefined,
      );
    });

    it("registrations survive a restart of ledge (entity store in the data dir)", async () => {
      env.running = await env.restart();
      await obs.client.endAsync();
      obs = await observer(env.port);
      const child = await waitFor("child1 after restart", () => obs.seen.get("te/device/child1//"));
      assert.equal(JSON.parse(child).name, "child1");
      assert.equal(obs.seen.get("te/device/gone//"), undefined, "deregistered stays gone");
    });
  });
}

/** `run()` in this process, restartable, with a temp config and data dir. */
async function inProcess(config: Config, port: number, dir: string, cleanup = async () => {}) {
  const env = {
    running: await run(config, [], log),
    port,
    dir,
    restart: async () => {
      await env.running.stop();
      return run(config, [], log);
    },
    close: async () => {
      await env.running.stop();
      await cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

apiSuite("te/ API on the embedded broker (ledge run: broker + api)", async () => {
  const { dir, port } = await tempConfig({ "run.components": ["api"] });
  return inProcess(loadConfig(dir, {}), port, dir);
});

apiSuite("te/ API on an external mosquitto (mqtt.broker = external)", async () => {
  const mosq = await startMosquitto();
  const { dir } = await tempConfig({ "mqtt.broker": "external", "run.components": ["api"] });
  const config = loadConfig(dir, {}).with({ "mqtt.client.port": mosq.port });
  return inProcess(config, mosq.port, dir, () => mosq.stop());
});
