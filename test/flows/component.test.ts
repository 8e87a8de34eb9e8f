/**
 * The flows component on a real bus, started the way `ledge run` starts it (broker + flows in one
 * process, the in-process bus), driven only through the `Bus` interface: flows between te/ topics,
 * hot reload while messages flow, a runaway flow stopped without taking ledge down, a local
 * control rule with and without its interlock, file and process inputs, file sinks.
 */
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Running, run } from "../../src/app/run.ts";
import type { BusMessage } from "../../src/bus/bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { tempConfig } from "../helpers/cli.ts";
import { PUMP_RULE, SENSOR_REMAP, writeFlows } from "../helpers/flows.ts";
import { waitFor } from "../helpers/ports.ts";

const log = createLogger({ level: "error" });

describe("flows component in ledge run (in-process bus)", () => {
  let running: Running;
  let flowsDir: string;
  let dir: string;
  const seen: BusMessage[] = [];
  const on = (topic: string) => seen.filter((m) => m.topic === topic).map((m) => m.payload.toString());
  /** Waits until the component reports `local/<name>` in the given state on its retained status. */
  const flowIs = (name: string, status = "running") =>
    waitFor(`flow ${name} ${status}`, () => {
      const last = on("te/device/main/service/ledge-flows/status/flows").at(-1);
      return last && JSON.parse(last)[`local/${name}`]?.status === status ? true : undefined;
    });

  before(async () => {
    ({ dir } = await tempConfig({ "flows.reload_interval_ms": 100, "flows.step_timeout_ms": 300 }));
    flowsDir = join(dir, "mappers", "local", "flows");
    writeFlows(flowsDir, {
      ...SENSOR_REMAP,
      "relay/flow.toml": `input.mqtt.topics = ["in/relay"]\nsteps = [{ builtin = "set-topic", config = { topic = "out/v1" } }]\n`,
    });
    running = await run(loadConfig(dir), ["broker", "flows"], log);
    await running.bus.subscribe(["te/#", "out/#", "errors/#"], (m) => seen.push(m), { qos: 1 });
  });
  after(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("thin-edge's sensor-remap flow turns sensor messages into te/ measurements on the bus", async () => {
    await running.bus.publish("sensors/factory/zone1", '{"temp": 22.4}');
    assert.equal(
      await waitFor("remapped", () => on("te/device/main///m/environment")[0]),
      '{"temperature":22.4}',
    );
    assert.ok(running.components.includes("flows"));
  });

  it("a flow file edited while messages flow: every message is handled once, by the old flow or the new", async () => {
    let n = 0;
    const pump = setInterval(() => void running.bus.publish("in/relay", String(n++), { qos: 1 }), 5);
    await waitFor("v1 output", () => on("out/v1").length > 5 || undefined);
    const before = on("te/device/main/service/ledge-flows/status/flows").length;
    writeFlows(flowsDir, {
      "relay/flow.toml": `input.mqtt.topics = ["in/relay"]\nsteps = [{ builtin = "set-topic", config = { topic = "out/v2" } }]\n`,
    });
    await waitFor(
      "reloaded",
      () => on("te/device/main/service/ledge-flows/status/flows").length > before || undefined,
    );
    await waitFor("v2 output", () => on("out/v2").length > 5 || undefined);
    clearInterval(pump);
    const sent = n;
    await waitFor("all handled", () => on("out/v1").length + on("out/v2").length >= sent || undefined);
    const v1 = on("out/v1").map(Number);
    const v2 = on("out/v2").map(Number);
    assert.deepEqual(
      [...v1, ...v2].sort((a, b) => a - b),
      Array.from({ length: sent }, (_, i) => i),
      "none lost, none twice",
    );
    assert.ok(Math.max(...v1) < Math.min(...v2), "the new flow takes over from one message on");
  });

  it("a flow that loops forever is stopped with an error on te/error; ledge and the other flows go on", async () => {
    writeFlows(flowsDir, {
      "spin/flow.toml": `input.mqtt.topics = ["in/spin"]\nsteps = [{ script = "spin.js" }]\n`,
      "spin/spin.js": "export function onMessage() { for (;;) {} }",
    });
    await flowIs("spin");
    await running.bus.publish("in/spin", "x");
    assert.match(
      await waitFor("error", () => on("te/error")[0]),
      /flow spin: step spin.js: step stopped: it ran longer than 300 ms/,
    );
    await running.bus.publish("sensors/factory/zone2", '{"temp": 1}');
    await waitFor(
      "still remapping",
      () => on("te/device/main///m/environment").includes('{"temperature":1}') || undefined,
    );
    // stopped flows stay stopped: a second message costs no second timeout
    await running.bus.publish("in/spin", "y");
    await running.bus.publish("sensors/factory/zone2", '{"temp": 2}');
    await waitFor(
      "still remapping",
      () => on("te/device/main///m/environment").includes('{"temperature":2}') || undefined,
    );
    assert.equal(on("te/error").length, 1);
    await flowIs("spin", "stopped");
    // fixed on disk: it comes back
    writeFlows(flowsDir, {
      "spin/spin.js": `export function onMessage() { return { topic: "out/spin", payload: "fixed" }; }`,
    });
    await waitFor("fixed", async () => {
      await running.bus.publish("in/spin", "z");
      return on("out/spin")[0];
    });
  });

  it("a rule with an interlock: blocked while the interlock holds, fires once it clears (positive control); dry run only records", async () => {
    writeFlows(flowsDir, {
      "pump/flow.toml": PUMP_RULE,
      "pump-dry/flow.toml": `input.mqtt.topics = ["te/device/tank2///m/level"]

[[steps]]
builtin = "rule"
[steps.config]
name = "dry"
dry_run = true
when = { series = "level", above = 90 }
command = { topic = "te/device/plc///cmd/modbus_write", payload = { point = "valve", value = 0 } }
`,
    });
    await flowIs("pump");
    await flowIs("pump-dry");
    const events = () =>
      on("te/device/main///e/rule_action").map((p) => JSON.parse(p) as { rule: string; action: string });
    const commands = () => seen.filter((m) => m.topic.startsWith("te/device/plc///cmd/modbus_write/"));
    await running.bus.publish("te/device/plc///m/state", '{"door_open": 1}');
    await running.bus.publish("te/device/tank///m/level", '{"level": 95}');
    await waitFor("blocked event", () => events().find((e) => e.action === "blocked"));
    assert.equal(commands().length, 0, "no command while the door is open");
    await running.bus.publish("te/device/tank///m/level", '{"level": 50}');
    await running.bus.publish("te/device/plc///m/state", '{"door_open": 0}');
    await running.bus.publish("te/device/tank///m/level", '{"level": 96}');
    const cmd = await waitFor("command", () => commands()[0]);
    assert.deepEqual(JSON.parse(cmd.payload.toString()), { point: "pump", value: 1, status: "init" });
    assert.ok(events().some((e) => e.rule === "pump" && e.action === "fired"));
    await running.bus.publish("te/device/tank2///m/level", '{"level": 99}');
    await waitFor("dry-run event", () => events().find((e) => e.rule === "dry" && e.action === "dry-run"));
    assert.equal(commands().length, 1, "dry run sends no command");
  });

  it("file and process inputs, file output and errors sinks", async () => {
    const data = join(dir, "readings.log");
    writeFileSync(data, "old line\n");
    writeFlows(flowsDir, {
      "tail/flow.toml": `[input.file]\npath = "${data}"\ntopic = "file/in"\n\n[[steps]]\nbuiltin = "set-topic"\nconfig = { topic = "out/file" }\n`,
      "proc/flow.toml": `[input.process]\ncommand = "./emit.sh"\ninterval = "200ms"\n\n[[steps]]\nbuiltin = "deadband"\n\n[output.file]\npath = "proc.out"\n\n[errors.file]\npath = "proc.err"\n`,
      "proc/emit.sh": `#!/bin/sh\necho '{"v": 1}'\necho 'not json'\n`,
    });
    const { chmodSync } = await import("node:fs");
    chmodSync(join(flowsDir, "proc/emit.sh"), 0o755);
    await flowIs("tail");
    await flowIs("proc");
    appendFileSync(data, "new line\n");
    assert.equal(await waitFor("tailed", () => on("out/file")[0]), "new line");
    const out = await waitFor("file output", () => {
      try {
        return readFileSync(join(flowsDir, "proc/proc.out"), "utf8") || undefined;
      } catch {
        return undefined;
      }
    });
    assert.equal(out.split("\n")[0], '[./emit.sh] {"v": 1}', "deadband passes the first value, once");
    const err = await waitFor("errors file", () => {
      try {
        return readFileSync(join(flowsDir, "proc/proc.err"), "utf8") || undefined;
      } catch {
        return undefined;
      }
    });
    assert.match(
      err,
      /\[te\/error\] flow proc: step deadband: payload on '.\/emit.sh' is not a JSON object: not json/,
    );
  });
});
