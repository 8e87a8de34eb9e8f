/**
 * Flows as software of type `flow` (TEDGE-FACTS §10.1): `ledge flows plugin` speaks the sm-plugin
 * protocol, and end to end, the agent's `software_update` installs a flow archive from a URL through
 * the `flow` plugin, the running flows component picks it up, and `remove` takes it away again.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Running, run } from "../../src/app/run.ts";
import type { BusMessage } from "../../src/bus/bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { flowPluginScript } from "../../src/flows/plugin.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { LEDGE, ledge, tempConfig } from "../helpers/cli.ts";
import { SENSOR_REMAP, writeFlows } from "../helpers/flows.ts";
import { waitFor } from "../helpers/ports.ts";

/** A flow archive as a user would pack it: `tar -czf x.tar.gz -C dir .` */
function archive(files: Record<string, string>): string {
  const src = mkdtempSync(join(tmpdir(), "ledge-flow-pkg-"));
  writeFlows(src, files);
  const out = `${src}.tar.gz`;
  const r = spawnSync("tar", ["-czf", out, "-C", src, "."]);
  assert.equal(r.status, 0);
  rmSync(src, { recursive: true, force: true });
  return out;
}

const remapFiles = {
  "flow.toml": `version = "1.2.0"\n${SENSOR_REMAP["sensor-remap/flow.toml"]}`,
  "main.js": SENSOR_REMAP["sensor-remap/main.js"],
};

describe("ledge flows plugin (sm-plugin protocol)", () => {
  it("install from a file, list with the version, remove", async () => {
    const { dir } = await tempConfig();
    const pkg = archive(remapFiles);
    const r = ledge([
      "--config-dir",
      dir,
      "flows",
      "plugin",
      "install",
      "local/remap",
      "--module-version",
      "1.2.0",
      "--file",
      pkg,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dir, "mappers/local/flows/remap/flow.toml")));
    assert.equal(ledge(["--config-dir", dir, "flows", "plugin", "list"]).stdout, "local/remap\t1.2.0\n");
    assert.equal(ledge(["--config-dir", dir, "flows", "plugin", "remove", "local/remap"]).code, 0);
    assert.equal(ledge(["--config-dir", dir, "flows", "plugin", "list"]).stdout, "");
  });

  it("ledge init writes the flow plugin into agent.sm_plugins_dir", async () => {
    const { dir } = await tempConfig();
    const r = ledge(["--config-dir", dir, "init"]);
    assert.equal(r.code, 0, r.stderr);
    const plugin = join(dir, "sm-plugins", "flow");
    assert.match(r.stdout, new RegExp(`plugin: ${plugin}`));
    assert.equal(statSync(plugin).mode & 0o777, 0o755);
    assert.match(readFileSync(plugin, "utf8"), new RegExp(`'--config-dir' '${dir}' 'flows' 'plugin' "\\$@"`));
  });

  it("refuses what is not a flow module: bad names, no file, an archive without a flow, a broken flow", async () => {
    const { dir } = await tempConfig();
    const bad = (args: string[]) => ledge(["--config-dir", dir, "flows", "plugin", ...args]);
    assert.match(bad(["install", "../etc", "--file", "x"]).stderr, /must be <mapper>\/<flow>/);
    assert.match(bad(["install", "local/x"]).stderr, /needs a file/);
    assert.match(
      bad(["install", "local/x", "--file", archive({ "readme.txt": "hi" })]).stderr,
      /holds no flow file/,
    );
    assert.match(
      bad(["install", "local/x", "--file", archive({ "flow.toml": "steps = 3" })]).stderr,
      /steps must be an array of tables/,
    );
    assert.equal(bad(["list"]).stdout, "");
  });
});

describe("software_update of type flow through the agent, picked up by the running flows component", () => {
  let running: Running;
  let server: Server;
  let dir: string;
  const seen: BusMessage[] = [];
  before(async () => {
    ({ dir } = await tempConfig({ "flows.reload_interval_ms": 100, "agent.monitor.interval_s": 0 }));
    const config = loadConfig(dir);
    const plugins = config.path("agent.sm_plugins_dir");
    writeFlows(plugins, { flow: flowPluginScript(LEDGE, dir) });
    chmodSync(join(plugins, "flow"), 0o755);
    const pkg = archive(remapFiles);
    server = createServer((_req, res) => res.end(readFileSync(pkg)));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    running = await run(config, ["broker", "agent", "flows"], createLogger({ level: "error" }));
    await running.bus.subscribe(["te/#"], (m) => seen.push(m), { qos: 1 });
  });
  after(async () => {
    await running?.stop();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = (id: string, want: string) =>
    waitFor(
      `${id} ${want}`,
      () => {
        const last = seen.filter((m) => m.topic === `te/device/main///cmd/software_update/${id}`).at(-1);
        const s = last?.payload.length
          ? (JSON.parse(last.payload.toString()) as { status: string; reason?: string })
          : undefined;
        if (s?.status === "failed" && want !== "failed") throw new Error(`failed: ${s.reason}`);
        return s?.status === want ? s : undefined;
      },
      60_000,
    );

  it("the agent lists flow as a software type, installs the flow, and the flow runs", async () => {
    const cap = await waitFor("capability", () =>
      seen.find((m) => m.topic === "te/device/main///cmd/software_update"),
    );
    assert.ok((JSON.parse(cap.payload.toString()) as { types: string[] }).types.includes("flow"));
    const port = (server.address() as { port: number }).port;
    await running.bus.publish(
      "te/device/main///cmd/software_update/f1",
      JSON.stringify({
        status: "init",
        updateList: [
          {
            type: "flow",
            modules: [
              {
                name: "local/remap",
                version: "1.2.0",
                url: `http://127.0.0.1:${port}/remap.tar.gz`,
                action: "install",
              },
            ],
          },
        ],
      }),
      { retain: true, qos: 1 },
    );
    await status("f1", "successful");
    await waitFor("flow running", async () => {
      await running.bus.publish("sensors/factory/z", '{"temp": 5}');
      return seen.find((m) => m.topic === "te/device/main///m/environment");
    });
    await running.bus.publish(
      "te/device/main///cmd/software_update/f2",
      JSON.stringify({
        status: "init",
        updateList: [{ type: "flow", modules: [{ name: "local/remap", action: "remove" }] }],
      }),
      { retain: true, qos: 1 },
    );
    await status("f2", "successful");
    assert.ok(!existsSync(join(dir, "mappers/local/flows/remap")));
  });
});
