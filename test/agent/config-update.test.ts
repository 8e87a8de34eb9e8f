import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { driverFileHooks } from "../../src/drivers/file-hooks.ts";
import { type AgentEnv, agentEnv } from "../helpers/agent-env.ts";

const GOOD_MODBUS = `[[device]]
name = "m1"
transport = "tcp"
host = "127.0.0.1"
port = 5020
[[device.point]]
name = "t"
table = "holding"
address = 0
`;

const GOOD_SERIAL = `[[device]]
name = "w1"
port = "/dev/ttyUSB0"
parser = "kv"
`;

describe("config_update checks a new file before it replaces the old one", () => {
  let env: AgentEnv;
  let files: string;
  let n = 0;
  /** Stages `content` on the file service and runs config_update of `type` with it. */
  const update = async (type: string, content: string, status: "successful" | "failed") => {
    const id = `u${++n}`;
    const url = `${files}/staged/${id}`;
    assert.equal((await fetch(url, { method: "PUT", body: content })).status, 201);
    await env.command("config_update", id, { status: "init", type, tedgeUrl: url });
    return env.waitStatus("config_update", id, status);
  };
  const read = (name: string) => readFileSync(join(env.dir, name), "utf8");

  before(async () => {
    env = await agentEnv("embedded");
    files = `http://127.0.0.1:${env.config.get("http.bind.port")}/te/v1/files`;
    writeFileSync(join(env.dir, "ledge.toml"), 'device.type = "gateway"\n');
    writeFileSync(join(env.dir, "modbus.toml"), GOOD_MODBUS);
    writeFileSync(join(env.dir, "serial.toml"), GOOD_SERIAL);
    writeFileSync(join(env.dir, "app.json"), '{"level":1}');
    writeFileSync(join(env.dir, "checked.conf"), "good\n");
    writeFileSync(
      join(env.dir, "agent.toml"),
      [
        '[[config]]\ntype = "modbus"\npath = "modbus.toml"',
        '[[config]]\ntype = "serial"\npath = "serial.toml"',
        '[[config]]\ntype = "app"\npath = "app.json"',
        '[[config]]\ntype = "checked"\npath = "checked.conf"\nvalidate = ["grep", "-q", "^good"]',
      ].join("\n"),
    );
    await env.startAgent({}, driverFileHooks(env.config));
  });
  after(() => env.close());

  const FILES: Record<string, string> = {
    "ledge.toml": "ledge.toml",
    modbus: "modbus.toml",
    serial: "serial.toml",
    app: "app.json",
    checked: "checked.conf",
  };
  const bad: [string, string, string, RegExp][] = [
    ["ledge.toml that is not TOML", "ledge.toml", "device.type = [unclosed", /ledge\.toml.*is unchanged/],
    [
      "ledge.toml with an unknown component",
      "ledge.toml",
      'run.components = ["nonsense"]',
      /unknown component 'nonsense'/,
    ],
    ["ledge.toml with an unknown key", "ledge.toml", "no.such.key = 1", /unknown config key 'no.such.key'/],
    ["ledge.toml with a device id that breaks topics", "ledge.toml", 'device.id = "a/b+#"', /device\.id/],
    ["modbus.toml with a device without transport", "modbus", '[[device]]\nname = "m1"\n', /modbus\.toml/],
    ["serial.toml with an unknown parser", "serial", GOOD_SERIAL.replace('"kv"', '"morse"'), /serial\.toml/],
    ["a .json type that is not JSON", "app", "{level:", /app\.json is unchanged/],
    ["a type whose validate command refuses it", "checked", "bad\n", /checked\.conf is unchanged/],
  ];
  for (const [what, type, content, reason] of bad)
    it(`${what} → failed with the reason, the old file stays`, async () => {
      const file = FILES[type]!;
      const before = read(file);
      const r = await update(type, content, "failed");
      assert.match(String(r.reason), reason);
      assert.equal(read(file), before);
      assert.deepEqual(
        readdirSync(env.dir).filter((f) => f.includes(".new-")),
        [],
        "no candidate left behind",
      );
    });

  const good: [string, string, string][] = [
    ["ledge.toml", "ledge.toml", 'device.type = "edge"\n'],
    ["modbus", "modbus.toml", GOOD_MODBUS.replace("5020", "5021")],
    ["serial", "serial.toml", GOOD_SERIAL.replace("w1", "w2")],
    ["app", "app.json", '{"level":2}'],
    ["checked", "checked.conf", "good again\n"],
  ];
  for (const [type, file, content] of good)
    it(`positive control: a valid ${type} is installed`, async () => {
      await update(type, content, "successful");
      assert.equal(read(file), content);
    });

  it("a candidate left by a killed agent (dead pid) is removed by the next update", async () => {
    const stale = join(env.dir, "app.json.new-999999");
    writeFileSync(stale, "half");
    await update("app", '{"level":3}', "successful");
    assert.equal(existsSync(stale), false);
  });
});
