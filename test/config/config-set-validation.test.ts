import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { COMPONENTS } from "../../src/app/components.ts";
import { RUN_NAMES } from "../../src/config/keys/core.ts";
import { ConfigFile, loadConfig } from "../../src/config/store.ts";
import { ledge } from "../helpers/cli.ts";

const dir = () => mkdtempSync(join(tmpdir(), "ledge-cfgset-"));

describe("config set validates as ledge run does", () => {
  it("the component names config knows are the ones ledge run starts", () =>
    assert.deepEqual([...RUN_NAMES].sort(), ["broker", ...Object.keys(COMPONENTS)].sort()));

  const bad: [string, string, RegExp][] = [
    ["run.components", "nonsense", /unknown component 'nonsense'/],
    ["run.components", "api,agnet", /unknown component 'agnet'/],
    ["device.id", "a/b+#", /must not contain '\/', '\+', '#'/],
    ["device.id", "", /must not be empty/],
    ["device.id", "x\u0000y", /NUL/],
    ["http.bind.address", "not an ip", /IPv4 or IPv6 address/],
    ["mqtt.bind.address", "999.1.1.1", /IPv4 or IPv6 address/],
    ["mqtt.client.host", "bad host!", /IP address or a host name/],
  ];
  for (const [key, value, error] of bad)
    it(`${key} ${JSON.stringify(value)} is refused and the file is not touched`, () => {
      const d = dir();
      writeFileSync(join(d, "ledge.toml"), 'device.type = "x"\n');
      assert.throws(() => new ConfigFile(d).set(key as never, value), error);
      assert.equal(readFileSync(join(d, "ledge.toml"), "utf8"), 'device.type = "x"\n');
    });

  const good: [string, string][] = [
    ["run.components", "api,agent,c8y-mapper,bridge"],
    ["device.id", "gw-7"],
    ["http.bind.address", "::1"],
    ["mqtt.bind.address", "0.0.0.0"],
    ["mqtt.client.host", "broker.local"],
  ];
  for (const [key, value] of good)
    it(`positive control: ${key} ${value} is set and ledge run's loader accepts it`, () => {
      const d = dir();
      new ConfigFile(d).set(key as never, value);
      assert.doesNotThrow(() => loadConfig(d, {}));
    });

  it("temp files of killed runs are removed, a live run's temp file is left alone", () => {
    const d = dir();
    writeFileSync(join(d, "ledge.toml.tmp-999999"), "half");
    const live = `ledge.toml.tmp-${process.ppid}`;
    writeFileSync(join(d, live), "in progress");
    new ConfigFile(d).set("device.id", "gw");
    assert.equal(existsSync(join(d, "ledge.toml.tmp-999999")), false);
    assert.deepEqual(
      readdirSync(d).filter((f) => f.includes(".tmp-")),
      [live],
    );
  });
});

describe("ledge config CLI", () => {
  it("config set of a bad value exits 1 with the reason", () => {
    const r = ledge(["-c", dir(), "config", "set", "run.components", "nonsense"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid value for 'run.components': unknown component 'nonsense'/);
  });

  it("config list on a missing config dir exits non-zero with a message", () => {
    const missing = join(dir(), "nope");
    const r = ledge(["-c", missing, "config", "list"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /config dir .*nope does not exist/);
    // positive control: an existing empty dir lists nothing and succeeds
    assert.equal(ledge(["-c", dir(), "config", "list"]).code, 0);
  });
});
