/**
 * `ledge flows` with thin-edge's options (TEDGE-FACTS §10.6): `test` over a message on the command
 * line or `[topic] payload` lines on stdin, one flow or one script, `--final-on-interval`,
 * `--processing-time`, `--context`, base64 in and out; `list`; `config-dir`; and `ledge run flows`
 * as a component of its own against mosquitto.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import mqtt from "mqtt";
import { ledge, ledgeSpawn, tempConfig } from "../helpers/cli.ts";
import { flowsTree, SENSOR_REMAP, TEMP_AGGREGATOR } from "../helpers/flows.ts";
import { startMosquitto } from "../helpers/mosquitto.ts";
import { waitFor } from "../helpers/ports.ts";

async function configWith(files: Record<string, string>) {
  const { dir } = await tempConfig();
  flowsTree(files, "local", dir);
  return dir;
}

describe("ledge flows test", () => {
  it("thin-edge Example 1 from the command line; Example 5 from stdin with --final-on-interval", async () => {
    const dir = await configWith({ ...SENSOR_REMAP, ...TEMP_AGGREGATOR });
    const one = ledge(["--config-dir", dir, "flows", "test", "sensors/factory/zone1", '{"temp": 22.4}']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, '[te/device/main///m/environment] {"temperature":22.4}\n');
    const input = [75.1, 87.3, 84.9]
      .map((t) => `[te/device/main///m/environment] {"temperature": ${t}}`)
      .join("\n");
    const five = ledge(["--config-dir", dir, "flows", "test", "--final-on-interval"], {}, `${input}\n`);
    assert.equal(five.code, 0, five.stderr);
    assert.equal(
      five.stdout,
      '[te/device/main///m/environment_agg] {"temperature":{"min":75.1,"max":87.3,"avg":82.43}}\n',
    );
  });

  it("output lines are input lines: runs chain", async () => {
    const dir = await configWith({ ...SENSOR_REMAP, ...TEMP_AGGREGATOR });
    const first = ledge(
      ["--config-dir", dir, "flows", "test"],
      {},
      '[sensors/factory/a] {"temp": 10}\n[sensors/factory/b] {"temp": 20}\n',
    );
    const second = ledge(["--config-dir", dir, "flows", "test", "--final-on-interval"], {}, first.stdout);
    assert.equal(
      second.stdout,
      '[te/device/main///m/environment_agg] {"temperature":{"min":10,"max":20,"avg":15}}\n',
    );
  });

  it("--flow runs one flow file or one script; --processing-time, --context and base64 in/out", async () => {
    const dir = await configWith({
      ...SENSOR_REMAP,
      "stamp/flow.toml": `expect_loop = true\ninput.mqtt.topics = ["x/#"]\nsteps = [{ builtin = "add-timestamp", config = { format = "rfc3339" } }]\n`,
      "ctx.js": `export function onMessage(m, context) { return { topic: "ctx", payload: JSON.stringify(context.mapper.get("site")) }; }`,
    });
    const flows = join(dir, "mappers/local/flows");
    const ts = ledge([
      "--config-dir",
      dir,
      "flows",
      "test",
      "--flow",
      join(flows, "stamp/flow.toml"),
      "--processing-time",
      "2025-06-27T11:31:02Z",
      "x/y",
      "{}",
    ]);
    assert.equal(ts.stdout, '[x/y] {"time":"2025-06-27T11:31:02.000Z"}\n', ts.stderr);
    const ctx = ledge([
      "--config-dir",
      dir,
      "flows",
      "test",
      "--flow",
      join(flows, "ctx.js"),
      "--context",
      '{"site": {"name": "plant 1"}}',
      "any",
      "x",
    ]);
    assert.equal(ctx.stdout, '[ctx] {"name":"plant 1"}\n', ctx.stderr);
    const b64 = ledge([
      "--config-dir",
      dir,
      "flows",
      "test",
      "--base64-input",
      "--base64-output",
      "sensors/factory/z",
      Buffer.from('{"temp": 1}').toString("base64"),
    ]);
    assert.equal(
      b64.stdout,
      `[te/device/main///m/environment] ${Buffer.from('{"temperature":1}').toString("base64")}\n`,
    );
  });

  it("bad input is a clear error, not a stack", async () => {
    const dir = await configWith(SENSOR_REMAP);
    const r = ledge(["--config-dir", dir, "flows", "test"], {}, "no topic here\n");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ledge: expected '\[<topic>\] <payload>', got: no topic here/);
    const t = ledge(["--config-dir", dir, "flows", "test", "--processing-time", "soon", "a", "b"]);
    assert.match(t.stderr, /--processing-time: 'soon' is not a time/);
  });
});

describe("ledge flows list / config-dir", () => {
  it("lists flows with inputs and steps, filtered by --topic; a broken flow file is reported", async () => {
    const dir = await configWith({
      ...SENSOR_REMAP,
      ...TEMP_AGGREGATOR,
      "nested/deeper/x.toml": 'input.mqtt.topics = ["a/b"]\nsteps = []\n',
      "nested/deeper/params.toml": "",
    });
    const all = ledge(["--config-dir", dir, "flows", "list"]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(
      all.stdout
        .split("\n")
        .filter((l) => l && !l.startsWith("\t"))
        .map((l) => l.split("\t")[0]),
      ["nested/deeper/x", "sensor-remap", "temp-aggregator"],
    );
    const some = ledge(["--config-dir", dir, "flows", "list", "--topic", "te/device/c1///m/environment"]);
    assert.match(
      some.stdout,
      /^temp-aggregator\t.*\n\tinput: te\/\+\/\+\/\+\/\+\/m\/environment\n\tsteps: .*main.js\n$/,
    );
    flowsTree({ "broken/flow.toml": "steps = [" }, "local", dir);
    const broken = ledge(["--config-dir", dir, "flows", "list"]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /broken\/flow.toml/);
  });

  it("config-dir prints the mapper's flows dir", async () => {
    const { dir } = await tempConfig();
    assert.equal(
      ledge(["--config-dir", dir, "flows", "config-dir", "--mapper", "c8y"]).stdout,
      `${join(dir, "mappers/c8y/flows")}\n`,
    );
  });
});

describe("ledge run flows: a component of its own on an external broker", () => {
  it("runs the config dir's flows over MQTT (mosquitto)", async () => {
    const mosq = await startMosquitto();
    const { dir } = await tempConfig({ "mqtt.broker": "external", "mqtt.client.port": mosq.port });
    flowsTree(SENSOR_REMAP, "local", dir);
    const proc = ledgeSpawn(["--config-dir", dir, "run", "flows"]);
    const client = await mqtt.connectAsync({
      host: "127.0.0.1",
      port: mosq.port,
      clientId: "flows-cli-test",
    });
    try {
      const got: string[] = [];
      client.on("message", (t, p) => got.push(`${t} ${p}`));
      await client.subscribeAsync("te/device/main///m/environment", { qos: 1 });
      await waitFor(
        "remapped over mosquitto",
        async () => {
          await client.publishAsync("sensors/factory/z", '{"temp": 3}', { qos: 1 });
          return got[0];
        },
        30_000,
        250,
      );
      assert.equal(got[0], 'te/device/main///m/environment {"temperature":3}');
    } finally {
      await client.endAsync();
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
      await mosq.stop();
    }
  });
});
