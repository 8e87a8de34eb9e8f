/**
 * The modbus component over Modbus RTU on a socat pty pair against an independent slave (pymodbus,
 * hw-test/modbus/slave.py), through ledge's serial transport (serialport under Node): several
 * units on one line, wrong CRC, line noise, garbage, exception responses, a dead unit on the shared
 * line, and the port removed and restored.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { alarmIs, type Harness, healthIs, startHarness } from "../helpers/modbus-harness.ts";
import {
  realRtuFromEnv,
  SLAVE_REGS,
  type Slave,
  slaveAvailable,
  startSlave,
} from "../helpers/modbus-slave.ts";
import { deviceToml, pointToml } from "../helpers/modbus-toml.ts";

const skip = slaveAvailable();
/** Real adapters named by LEDGE_TEST_MODBUS_RTU_PORT / _PEER replace the pty pair (hw-test/README.md). */
const real = realRtuFromEnv();
const BAUD = real?.baud ?? 38400;

function rtuDevice(
  name: string,
  path: string,
  unit: number,
  o: { interval?: number; timeout?: number; retries?: number } = {},
): string {
  return `\n${deviceToml({
    name,
    transport: "rtu",
    serial_port: path,
    baud: BAUD,
    unit_id: unit,
    poll_interval_s: o.interval ?? 0.2,
    timeout_ms: o.timeout ?? 250,
    retries: o.retries ?? 0,
    backoff_max_s: 0.5,
    measurement: "regs",
  })}${RTU_POINTS}`;
}

const RTU_POINTS = [
  { name: "u16", table: "holding", address: 0 },
  { name: "f32", table: "holding", address: 4, type: "float32" },
  { name: "unit", table: "holding", address: 100 },
  { name: "in2", table: "input", address: 2 },
  { name: "coil0", table: "coil", address: 0 },
]
  .map(pointToml)
  .join("");

const values = (h: Harness, name: string, since = 0) =>
  h.waitFor(`${name} values`, (x) => x.topic === `te/device/${name}///m/regs`, 8000, since);

describe(`modbus RTU on ${real ? `${real.ledge} ↔ ${real.slave}` : "a pty pair"} against pymodbus`, {
  skip,
}, () => {
  let slave: Slave;
  before(async () => {
    slave = await startSlave({ rtu: true, units: [1, 2, 3], realRtu: real });
  });
  after(async () => {
    await slave?.stop();
  });

  test("three units on one line, each read with its own values", async () => {
    const p = slave.rtuPath!;
    const h = await startHarness(rtuDevice("a", p, 1) + rtuDevice("b", p, 2) + rtuDevice("c", p, 3));
    try {
      for (const [name, unit] of [
        ["a", 1],
        ["b", 2],
        ["c", 3],
      ] as const) {
        const v = h.json(await values(h, name));
        assert.equal(v.u16, SLAVE_REGS.uint16At0(unit));
        assert.equal(v.unit, unit);
        assert.equal(v.f32, SLAVE_REGS.float32At4);
        assert.equal(v.in2, SLAVE_REGS.input(unit, 2));
        assert.equal(v.coil0, 1);
      }
    } finally {
      await h.stop();
    }
  });

  test("wrong CRC: counted as crc_errors, alarm and down; cleared when frames are good again", async () => {
    const h = await startHarness(rtuDevice("crc", slave.rtuPath!, 2));
    try {
      await values(h, "crc");
      await slave.fault("crc", [2]);
      const alarm = await h.waitFor("alarm", alarmIs("crc", "modbus_comm", true));
      assert.match(String(h.json(alarm).text), /CRC error/);
      await h.waitFor("down", healthIs("crc", "down"));
      const twin = await h.waitFor(
        "crc counted",
        (x) => x.topic === "te/device/crc///twin/modbus" && (h.json(x).crc_errors as number) > 0,
      );
      assert.equal(h.json(twin).timeouts, 0, "a bad CRC is reported as such, not as a timeout");
      const n = h.seen.length;
      await slave.fault("none");
      await h.waitFor("cleared", alarmIs("crc", "modbus_comm", false), 8000, n);
      await h.waitFor("up", healthIs("crc", "up"), 8000, n);
      await values(h, "crc", n);
    } finally {
      await slave.fault("none");
      await h.stop();
    }
  });

  test("noise around the frames: the responses are still found and the device stays up", async () => {
    await slave.fault("noise");
    const h = await startHarness(rtuDevice("noise", slave.rtuPath!, 3));
    try {
      for (let i = 0; i < 5; i++) {
        const v = h.json(await values(h, "noise", h.seen.length));
        assert.equal(v.u16, SLAVE_REGS.uint16At0(3));
      }
      assert.equal(h.seen.some(alarmIs("noise", "modbus_comm", true)), false);
    } finally {
      await slave.fault("none");
      await h.stop();
    }
  });

  test("garbage instead of responses: down, then up again when the line is clean", async () => {
    const h = await startHarness(rtuDevice("garbage", slave.rtuPath!, 1));
    try {
      await values(h, "garbage");
      await slave.fault("garbage", [1]);
      await h.waitFor("down", healthIs("garbage", "down"));
      await h.waitFor("alarm", alarmIs("garbage", "modbus_comm", true));
      const n = h.seen.length;
      await slave.fault("none");
      await h.waitFor("up", healthIs("garbage", "up"), 8000, n);
      const v = h.json(await values(h, "garbage", n));
      assert.equal(v.u16, SLAVE_REGS.uint16At0(1));
    } finally {
      await slave.fault("none");
      await h.stop();
    }
  });

  test("exception response over RTU is counted by code; the device stays up", async () => {
    const toml =
      rtuDevice("exc", slave.rtuPath!, 2) + pointToml({ name: "beyond", table: "input", address: 150 });
    const h = await startHarness(toml);
    try {
      await values(h, "exc");
      const twin = await h.waitFor(
        "exception counted",
        (x) =>
          x.topic === "te/device/exc///twin/modbus" &&
          ((h.json(x).exceptions as Record<string, number>)["2"] ?? 0) > 0,
      );
      assert.match(String(h.json(twin).last_error), /exception 2/);
      assert.equal(h.seen.some(healthIs("exc", "down")), false);
    } finally {
      await h.stop();
    }
  });

  test("a dead unit on the shared line delays the healthy ones by at most its timeout", async () => {
    const p = slave.rtuPath!;
    const interval = 0.2;
    const timeout = 300;
    const h = await startHarness(
      rtuDevice("ok1", p, 1, { interval }) +
        rtuDevice("ok2", p, 2, { interval }) +
        rtuDevice("dead", p, 9, { interval, timeout, retries: 2 }),
    );
    try {
      await h.waitFor("dead is down", healthIs("dead", "down"));
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 3000));
      for (const name of ["ok1", "ok2"]) {
        const times = h.seen
          .filter((x) => x.topic === `te/device/${name}///m/regs` && x.at >= t0)
          .map((x) => x.at);
        const gaps = times.slice(1).map((t, i) => t - times[i]!);
        const worst = Math.max(...gaps);
        // its own interval, plus one timeout of the dead unit, plus the other healthy unit's read and jitter
        assert.ok(
          worst <= interval * 1000 + timeout + 250,
          `${name}: worst gap ${worst} ms (gaps ${gaps.join(",")})`,
        );
        assert.ok(times.length >= 8, `${name}: ${times.length} readings in 3 s`);
      }
    } finally {
      await h.stop();
    }
  });

  test("the serial port removed and restored: alarm and down, then reopened and cleared by itself", {
    skip: real ? "unplug the adapter by hand on real hardware (hw-test/README.md)" : false,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-pty-"));
    let own = await startSlave({ rtu: true, units: [1], ptyDir: dir });
    const h = await startHarness(rtuDevice("unplug", own.rtuPath!, 1));
    try {
      await values(h, "unplug");
      await own.stop(); // the pty pair is gone, like a USB adapter pulled out
      await h.waitFor("alarm", alarmIs("unplug", "modbus_comm", true));
      await h.waitFor("down", healthIs("unplug", "down"));
      await new Promise((r) => setTimeout(r, 500));
      const n = h.seen.length;
      own = await startSlave({ rtu: true, units: [1], ptyDir: dir });
      await h.waitFor("cleared", alarmIs("unplug", "modbus_comm", false), 8000, n);
      const v = h.json(await values(h, "unplug", n));
      assert.equal(v.u16, SLAVE_REGS.uint16At0(1));
    } finally {
      await h.stop();
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
