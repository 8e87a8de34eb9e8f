/**
 * The drivers' files through the agent (issue 15): modbus.toml and serial.toml are declared config
 * types; config_update validates a new file with the driver's own parser and rejects an invalid
 * one with file, line and reason (the old file stays); a valid one is put in place and the running
 * serial driver reloads it. The flight recorder is log type `modbus-recorder`.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AgentComponent } from "../../src/agent/agent-component.ts";
import { driverFileHooks } from "../../src/drivers/file-hooks.ts";
import { FlightRecorder } from "../../src/drivers/modbus/recorder.ts";
import { RecorderLog, recorderFile } from "../../src/drivers/modbus/recorder-log.ts";
import { createSerialComponent, type SerialComponent } from "../../src/drivers/serial/component.ts";
import { type AgentEnv, agentEnv, log } from "../helpers/agent-env.ts";
import { waitFor } from "../helpers/ports.ts";

const ONE = '[[device]]\nname = "s1"\nport = "/dev/ledge-test-absent-1"\nparser = "kv"\n';
const TWO = `${ONE}\n[[device]]\nname = "s2"\nport = "/dev/ledge-test-absent-2"\nparser = "nmea"\ntime_source = "device"\n`;

describe("modbus.toml and serial.toml through config_update, the recorder through log_upload", () => {
  let env: AgentEnv;
  let files: string;
  let serial: SerialComponent;
  before(async () => {
    env = await agentEnv("embedded", { "serial.reconnect_min_ms": 1000 });
    files = `http://127.0.0.1:${env.config.get("http.bind.port")}/te/v1/files`;
    writeFileSync(join(env.dir, "serial.toml"), ONE);
    env.agent = new AgentComponent(
      { config: env.config, log, bus: env.bus, clock: Date.now },
      {},
      driverFileHooks(env.config),
    );
    await env.agent.start();
    serial = createSerialComponent({ config: env.config, log, bus: env.bus, clock: Date.now });
    await serial.start();
  });
  after(async () => {
    await serial?.stop();
    await env?.close();
  });

  const cap = (op: string) =>
    waitFor(`${op} capability`, () => env.seen.get(`te/device/main///cmd/${op}`)?.toString() || undefined);

  it("the drivers' files are declared config types and the recorder a log type", async () => {
    assert.deepEqual(JSON.parse(await cap("config_update")).types, [
      "ledge.toml",
      "modbus.toml",
      "serial.toml",
    ]);
    assert.deepEqual(JSON.parse(await cap("log_upload")).types, ["modbus-recorder"]);
  });

  it("an invalid serial.toml is rejected with file, line and reason and the old file stays", async () => {
    await fetch(`${files}/main/config_update/serial-1`, {
      method: "PUT",
      body: `${ONE}\n[[device]]\nname = "s1"\nport = "/dev/x"\nparser = "csv"\n`,
    });
    await env.command("config_update", "s1", {
      status: "init",
      type: "serial.toml",
      tedgeUrl: `${files}/main/config_update/serial-1`,
    });
    const failed = await env.waitStatus("config_update", "s1", "failed");
    assert.match(String(failed.reason), /serial\.toml:9: device #2 's1': 'parser' must be one of/);
    assert.match(
      String(failed.reason),
      /serial\.toml:7: device #2 's1': name 's1' is already used by device #1 's1'/,
    );
    assert.equal(readFileSync(join(env.dir, "serial.toml"), "utf8"), ONE);
  });

  it("a valid serial.toml is put in place and the running driver starts the new device only", async () => {
    const s1 = serial.devices.find((d) => d.cfg.name === "s1");
    assert.ok(s1);
    await fetch(`${files}/main/config_update/serial-2`, { method: "PUT", body: TWO });
    await env.command("config_update", "s2", {
      status: "init",
      type: "serial.toml",
      tedgeUrl: `${files}/main/config_update/serial-2`,
    });
    await env.waitStatus("config_update", "s2", "successful");
    assert.equal(readFileSync(join(env.dir, "serial.toml"), "utf8"), TWO);
    await waitFor("s2 registered", () => env.seen.get("te/device/s2//")?.length || undefined);
    await waitFor("two devices", () => (serial.devices.length === 2 ? true : undefined));
    assert.equal(
      serial.devices.find((d) => d.cfg.name === "s1"),
      s1,
      "s1 was not restarted",
    );
  });

  it("an invalid modbus.toml is rejected with every problem", async () => {
    await fetch(`${files}/main/config_update/modbus-1`, {
      method: "PUT",
      body: '[[device]]\nname = "m"\ntransport = "tcp"\nhost = "h"\nunit_id = 300\n',
    });
    await env.command("config_update", "m1", {
      status: "init",
      type: "modbus.toml",
      tedgeUrl: `${files}/main/config_update/modbus-1`,
    });
    const reason = String((await env.waitStatus("config_update", "m1", "failed")).reason);
    assert.match(reason, /modbus\.toml:1: device #1 'm': a device needs at least one \[\[device\.point\]\]/);
    assert.match(
      reason,
      /modbus\.toml:5: device #1 'm': 'unit_id' must be an integer between 0 and 255, not 300/,
    );
  });

  it("log_upload of modbus-recorder: the flight recorder's snapshot lines", async () => {
    const rec = new FlightRecorder("rtu:/dev/ttyUSB0", 4, () => Date.parse("2026-11-30T23:10:04.120Z"));
    rec.frame("tx", Uint8Array.from([3, 3, 0, 0, 0, 10, 0xc5, 0xed]));
    rec.outcome(3, 0, "timeout");
    const out = new RecorderLog(recorderFile({ config: env.config }), () => [rec], 0, log);
    await out.write();
    const url = `${files}/main/log_upload/rec-1`;
    await env.command("log_upload", "r1", {
      status: "init",
      type: "modbus-recorder",
      tedgeUrl: url,
      searchText: "rtu:/dev/ttyUSB0",
    });
    await env.waitStatus("log_upload", "r1", "successful");
    const text = await (await fetch(url)).text();
    assert.match(text, /^2026-11-30T23:10:04\.120Z rtu:\/dev\/ttyUSB0 snapshot: 1 frame\(s\)$/m);
    assert.match(text, /^2026-11-30T23:10:04\.120Z rtu:\/dev\/ttyUSB0 tx \+0ms 03 03 00 00 00 0a c5 ed$/m);
    assert.match(text, /unit 3 \{"requests":1,"ok":0,"timeouts":1/);
  });

  it("a serial.toml edited by hand into an invalid file is rejected by the driver; the devices stay", async () => {
    const n = serial.devices.length;
    writeFileSync(join(env.dir, "serial.toml"), `${TWO}colour = "red"\n`);
    const ev = await waitFor(
      "rejected event",
      () => env.seen.get("te/device/main///e/serial_config_rejected")?.toString() || undefined,
    );
    assert.match(JSON.parse(ev).text, /serial\.toml:\d+: device #2 's2': 'colour' is not a known key/);
    assert.equal(serial.devices.length, n);
  });
});
