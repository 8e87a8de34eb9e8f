/**
 * `ledge modbus scan` against pymodbus (hw-test/modbus/slave.py): a serial line with three units at
 * different settings (the slave keeps silent for a unit whose settings the master does not use,
 * as a real unit would), SunSpec discovery at the well-known bases, function 43/14 identification,
 * the proposed modbus.toml accepted by the driver's own parser, the time bound, and reads only.
 * With LEDGE_TEST_MODBUS_SCAN_PORT (a real line with real units), the same scan runs there.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseModbusConfig } from "../../src/drivers/modbus/config.ts";
import { openRtuPort, type PortFactory } from "../../src/drivers/modbus/link.ts";
import { proposeToml } from "../../src/drivers/modbus/scan/propose.ts";
import { scan, settingsOf } from "../../src/drivers/modbus/scan/scan.ts";
import { ledge } from "../helpers/cli.ts";
import { type Slave, slaveAvailable, startSlave } from "../helpers/modbus-slave.ts";

const skip = slaveAvailable();
const READ_ONLY = new Set(["3", "4", "43"]);

describe("modbus scan of a serial line: three units at different settings", { skip }, () => {
  let slave: Slave;
  before(async () => {
    slave = await startSlave({
      rtu: true,
      units: [1, 2, 3],
      line: {
        1: { baud: 9600, parity: "none" },
        2: { baud: 19200, parity: "even" },
        3: { baud: 38400, parity: "none" },
      },
      sunspec: { 2: 40000 },
      ident: [3],
    });
  });
  after(async () => slave?.stop());

  test("finds each unit at its own settings, identifies it and proposes a valid modbus.toml; reads only", async () => {
    // a pty carries no speed: tell the emulated line which settings the master opened it with
    const serialPort: PortFactory = async (t) => {
      await slave.command(`line ${t.baudRate} ${t.parity}`);
      return openRtuPort(t);
    };
    await slave.command("reset_stats");
    const t0 = Date.now();
    const r = await scan({
      target: {
        kind: "rtu",
        path: slave.rtuPath!,
        bauds: [9600, 19200, 38400],
        parities: ["none", "even"],
        dataBits: 8,
        stopBits: 1,
      },
      from: 1,
      to: 3,
      // generous: the machine running the suite may be busy, and a late answer reads as absent
      timeoutMs: 400,
      maxTimeMs: 30_000,
      serialPort,
    });
    const elapsed = Date.now() - t0;
    assert.deepEqual(
      r.found.map((u) => `${u.unitId} ${settingsOf(u.transport)}`),
      ["1 9600 8N1", "2 19200 8E1", "3 38400 8N1"],
    );
    const [u1, u2, u3] = r.found;
    assert.equal(u1?.sunspec, undefined);
    assert.deepEqual(u1?.identification, undefined, "unit 1 answers function 43 with exception 1");
    assert.equal(u2?.sunspec?.base, 40000);
    assert.deepEqual(
      u2?.sunspec?.models.map((m) => [m.id, m.address]),
      [
        [1, 40002],
        [103, 40070],
      ],
    );
    assert.equal(u2?.sunspec?.common.manufacturer.value, "ledge");
    assert.equal(u2?.sunspec?.common.serial.value, "SN-0042");
    assert.deepEqual(u3?.identification, { vendor: "ledge test vendor", product: "LT-43", revision: "4.2" });
    const toml = proposeToml(r);
    const cfg = parseModbusConfig(toml, "proposed");
    // one line, one setting: the others are proposed commented out, with what to change
    assert.deepEqual(
      cfg.devices.map((d) => [d.name, d.unitId]),
      [["unit-1", 1]],
    );
    assert.match(
      toml,
      /# unit 2 answers at 19200 8E1, but \S+ is proposed at 9600 8N1 \(one setting per line\)/,
    );
    assert.match(toml, /# name = "emulated-inverter-2"/);
    assert.match(toml, /# unit 3 answers at 38400 8N1, but/);
    const uncommented = parseModbusConfig(
      toml
        .replace(/^# ([a-z_]+ = |\[\[)/gm, "$1")
        .replace(/^(baud|parity) = .*$/gm, "")
        .replace(/^\[\[device\]\]$/gm, '[[device]]\nbaud = 9600\nparity = "none"'),
      "uncommented",
    );
    assert.deepEqual(
      uncommented.devices.map((d) => d.name),
      ["unit-1", "emulated-inverter-2", "lt-43-3"],
    );
    assert.deepEqual(
      uncommented.devices[1]?.points.filter((p) => p.dest.kind === "twin").map((p) => [p.name, p.address]),
      [
        ["manufacturer", 40004],
        ["model", 40020],
        ["version", 40044],
        ["serial", 40052],
      ],
    );
    const stats = await slave.stats();
    for (const fc of Object.keys(stats.by_fc))
      assert.ok(READ_ONLY.has(fc), `function ${fc} sent: a scan only reads`);
    // 6 settings × the units not found yet, at most one timeout each, plus the answers
    assert.ok(elapsed < 7 * 400 + 5000, `took ${elapsed} ms`);
  });

  test("bounded in time: a scan that cannot finish stops at --max-time and says what it skipped", async () => {
    const t0 = Date.now();
    const r = await scan({
      target: {
        kind: "rtu",
        path: slave.rtuPath!,
        bauds: [4800],
        parities: ["odd"],
        dataBits: 8,
        stopBits: 1,
      },
      from: 100,
      to: 247,
      timeoutMs: 100,
      maxTimeMs: 600,
    });
    assert.ok(Date.now() - t0 < 600 + 100 + 500, `took ${Date.now() - t0} ms`);
    assert.match(String(r.incomplete), /time ran out at 4800 8O1 unit \d+/);
    assert.ok(r.tried >= 3 && r.tried < 148, `tried ${r.tried}`);
  });
});

describe("modbus scan of a TCP host (ledge modbus scan --host)", { skip }, () => {
  let slave: Slave;
  before(async () => {
    slave = await startSlave({ tcp: true, units: [1, 5], sunspec: { 5: 50000 }, ident: [1] });
  });
  after(async () => slave?.stop());

  test("the CLI prints a proposal the driver accepts, SunSpec found at 50000", () => {
    const r = ledge([
      "modbus",
      "scan",
      "--host",
      "127.0.0.1",
      "--tcp-port",
      String(slave.tcpPort),
      "--units",
      "1-6",
      "--timeout-ms",
      "400",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /2 unit\(s\) found \(6 tried, \d+ requests\): 1 at 127\.0\.0\.1:\d+, 5 at 127\.0\.0\.1:\d+/,
    );
    const cfg = parseModbusConfig(r.stdout, "stdout");
    assert.deepEqual(
      cfg.devices.map((d) => d.name),
      ["lt-43-1", "emulated-inverter-5"],
    );
    assert.match(r.stdout, /# SunSpec at 50000: models 1@50002, 103@50070/);
    assert.match(r.stdout, /# identification \(function 43\/14\): ledge test vendor, LT-43, 4\.2/);
  });

  test("nothing found: exit code 1, no proposal", () => {
    const r = ledge([
      "modbus",
      "scan",
      "--host",
      "127.0.0.1",
      "--tcp-port",
      String(slave.tcpPort),
      "--units",
      "7-8",
      "--timeout-ms",
      "300",
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /0 unit\(s\) found/);
  });

  test("bad options are usage errors", () => {
    assert.match(ledge(["modbus", "scan"]).stderr, /give --port <tty> or --host <host>/);
    assert.match(
      ledge(["modbus", "scan", "--port", "/dev/null", "--baud", "12345"]).stderr,
      /bad baud rate list/,
    );
    assert.match(ledge(["modbus", "scan", "--host", "h", "--units", "0-300"]).stderr, /--units must be/);
  });
});

describe("ledge modbus check", () => {
  test("lists the devices of a valid modbus.toml; every problem of an invalid one with its line", () => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-modbus-check-"));
    try {
      writeFileSync(
        join(dir, "modbus.toml"),
        '[[device]]\nname = "m"\ntransport = "tcp"\nhost = "h"\n[[device.point]]\nname = "v"\ntable = "holding"\naddress = 1\n',
      );
      const ok = ledge(["--config-dir", dir, "modbus", "check"]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "m: unit 1, 1 point(s)\n");
      writeFileSync(join(dir, "modbus.toml"), '[[device]]\nname = "m"\ntransport = "tcp"\nunit_id = 999\n');
      const bad = ledge(["--config-dir", dir, "modbus", "check"]);
      assert.notEqual(bad.code, 0);
      assert.match(
        bad.stderr,
        /modbus\.toml:1: device #1 'm': a device needs at least one \[\[device\.point\]\]/,
      );
      assert.match(bad.stderr, /modbus\.toml:1: device #1 'm': 'host' is required/);
      assert.match(
        bad.stderr,
        /modbus\.toml:4: device #1 'm': 'unit_id' must be an integer between 0 and 255, not 999/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("modbus scan of a real line", {
  skip: !process.env.LEDGE_TEST_MODBUS_SCAN_PORT && "LEDGE_TEST_MODBUS_SCAN_PORT not set",
}, () => {
  test("finds the units named by LEDGE_TEST_MODBUS_SCAN_UNITS", async () => {
    const want = (process.env.LEDGE_TEST_MODBUS_SCAN_UNITS ?? "1").split(",").map(Number);
    const r = await scan({
      target: {
        kind: "rtu",
        path: process.env.LEDGE_TEST_MODBUS_SCAN_PORT ?? "",
        bauds: (process.env.LEDGE_TEST_MODBUS_SCAN_BAUDS ?? "9600,19200,38400").split(",").map(Number),
        parities: ["none", "even"],
        dataBits: 8,
        stopBits: 1,
      },
      from: 1,
      to: Math.max(...want),
      timeoutMs: 300,
      maxTimeMs: 300_000,
    });
    assert.deepEqual(
      r.found.map((u) => u.unitId).sort((a, b) => a - b),
      want,
    );
    parseModbusConfig(proposeToml(r), "proposed");
  });
});
