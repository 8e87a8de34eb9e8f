import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, parseValue } from "../../src/config/parse-value.ts";
import { schema } from "../../src/config/schema.ts";
import { ConfigFile, envName, loadConfig, resolveConfigDir } from "../../src/config/store.ts";
import { createLogger, type Level } from "../../src/foundation/logger.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "ledge-config-"));

describe("config", () => {
  it("log.levels as documented: names relative to `ledge`, a namespace covers its children", () => {
    const dir = tmp();
    const f = new ConfigFile(dir);
    f.set("log.levels", "bus=debug,c8y-mapper=trace,ledge:agent=error");
    const lines: string[] = [];
    const config = loadConfig(dir, {});
    const root = createLogger({
      level: config.get("log.level") as Level,
      levels: config.get("log.levels"),
      write: (l) => lines.push(l.replace(/^\S+ /, "").trim()),
    });
    root.child("bus").debug("shown");
    root.child("c8y-mapper").child("http").trace("shown");
    root.child("agent").warn("hidden");
    root.child("agent").error("shown");
    root.child("api").debug("hidden");
    root.child("api").info("shown");
    root.child("c8y").trace("hidden: c8y is not c8y-mapper");
    assert.deepEqual(lines, [
      "DEBUG ledge:bus shown",
      "TRACE ledge:c8y-mapper:http shown",
      "ERROR ledge:agent shown",
      "INFO  ledge:api shown",
    ]);
  });

  it("every key has a documented default of its declared type", () => {
    for (const [key, def] of Object.entries(schema)) {
      assert.ok(def.doc.length > 10, `${key} needs documentation`);
      assert.doesNotThrow(
        () =>
          parseValue(
            key as keyof typeof schema,
            Array.isArray(def.default) ? JSON.stringify(def.default) : String(def.default),
          ),
        key,
      );
    }
  });

  it("defaults: embedded broker on loopback 1883, never all interfaces", () => {
    const c = loadConfig(tmp(), {});
    assert.equal(c.get("mqtt.bind.address"), "127.0.0.1");
    assert.equal(c.get("mqtt.bind.port"), 1883);
    assert.equal(c.get("mqtt.broker"), "embedded");
    assert.equal(c.source("mqtt.bind.port"), "default");
  });

  it("set, get, unset round trip through a nested TOML file", () => {
    const dir = tmp();
    const f = new ConfigFile(dir);
    f.set("mqtt.bind.port", "2883");
    f.set("device.id", "gw-1");
    f.set("log.levels", "bus=debug,c8y-mapper=trace");
    assert.match(readFileSync(f.path, "utf8"), /\[mqtt\.bind\]\nport = 2883/);
    const c = loadConfig(dir, {});
    assert.equal(c.get("mqtt.bind.port"), 2883);
    assert.equal(c.get("device.id"), "gw-1");
    assert.deepEqual(c.get("log.levels"), ["bus=debug", "c8y-mapper=trace"]);
    assert.equal(c.source("device.id"), "file");
    f.unset("mqtt.bind.port");
    assert.equal(loadConfig(dir, {}).get("mqtt.bind.port"), 1883);
    assert.deepEqual(readdirSync(dir), ["ledge.toml"], "no temp file left behind");
    assert.equal(statSync(f.path).mode & 0o777, 0o640, "not world-readable (may hold a password)");
  });

  it("LEDGE_<KEY> env overrides the file", () => {
    const dir = tmp();
    new ConfigFile(dir).set("mqtt.bind.port", "2883");
    assert.equal(envName("mqtt.bind.port"), "LEDGE_MQTT_BIND_PORT");
    const c = loadConfig(dir, { LEDGE_MQTT_BIND_PORT: "3883" });
    assert.equal(c.get("mqtt.bind.port"), 3883);
    assert.equal(c.source("mqtt.bind.port"), "env");
    assert.throws(
      () => loadConfig(dir, { LEDGE_MQTT_BIND_PORT: "x" }),
      /LEDGE_MQTT_BIND_PORT: invalid value for 'mqtt.bind.port'/,
    );
  });

  it("config dir: flag, then LEDGE_CONFIG_DIR, then /etc/ledge", () => {
    assert.equal(resolveConfigDir("/a", { LEDGE_CONFIG_DIR: "/b" }), "/a");
    assert.equal(resolveConfigDir(undefined, { LEDGE_CONFIG_DIR: "/b" }), "/b");
    assert.equal(resolveConfigDir(undefined, {}), "/etc/ledge");
  });

  const bad: [string, string, RegExp][] = [
    ["mqtt.bind.port", "abc", /'mqtt.bind.port': expected an integer/],
    ["mqtt.bind.port", "70000", /'mqtt.bind.port': must be between 1 and 65535/],
    ["mqtt.bind.port", "1.5", /'mqtt.bind.port': expected an integer/],
    ["mqtt.broker", "cloud", /'mqtt.broker': expected one of embedded, external/],
    ["mqtt.topic_root", "te/#", /'mqtt.topic_root': must be one topic level/],
    ["log.levels", "[1,2]", /'log.levels': expected a list of strings/],
  ];
  for (const [key, value, error] of bad) {
    it(`bad value ${key}=${value} is refused naming the key, file untouched`, () => {
      const dir = tmp();
      const f = new ConfigFile(dir);
      f.set("device.id", "keep");
      const before = readFileSync(f.path, "utf8");
      assert.throws(() => f.set(key as keyof typeof schema, value), error);
      assert.equal(readFileSync(f.path, "utf8"), before);
    });
  }

  const garbage: [string, string, RegExp][] = [
    ["not toml", "this is = = not toml", /ledge\.toml: /],
    ["unknown key", "[mqtt]\nbogus = 1\n", /unknown config key 'mqtt.bogus'/],
    ["wrong type", '[mqtt.bind]\nport = "x"\n', /invalid value for 'mqtt.bind.port': expected an integer/],
    ["binary junk", "\u0000\u0001\u00ff[[[", /ledge\.toml: /],
  ];
  for (const [name, text, error] of garbage) {
    it(`garbage config file (${name}) is a clear error naming the file`, () => {
      const dir = tmp();
      writeFileSync(join(dir, "ledge.toml"), text);
      assert.throws(
        () => loadConfig(dir, {}),
        (e: Error) => e instanceof ConfigError && error.test(e.message),
      );
    });
  }
});
