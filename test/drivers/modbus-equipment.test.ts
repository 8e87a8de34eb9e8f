/**
 * Modbus against pymodbus (issue 15): 64-bit integers, strings and bit fields; a point refused with
 * an exception named with its register in the twin and a throttled event; the twin republished
 * only on change or at its interval; the flight recorder in the communication alarm's event and
 * its log file; modbus.toml reloaded on change, restarting only the devices it changes, and a bad
 * file rejected with file, line and reason while the running configuration stays.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { alarmIs, type Harness, startHarness } from "../helpers/modbus-harness.ts";
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

function rtu(name: string, path: string, unit = 1): string {
  return `\n${deviceToml({ name, transport: "rtu", serial_port: path, baud: real?.baud ?? 38400, unit_id: unit, poll_interval_s: 0.1, timeout_ms: 300, retries: 0, backoff_max_s: 0.4 })}`;
}

function tcp(name: string, port: number, unit = 1, interval = 0.1): string {
  return `\n${deviceToml({ name, transport: "tcp", host: "127.0.0.1", port, unit_id: unit, poll_interval_s: interval, timeout_ms: 300, retries: 0, backoff_max_s: 0.4 })}`;
}

const NEW_TYPES = `\n${[
  { name: "i64", table: "holding", address: 22, type: "int64" },
  { name: "u64", table: "holding", address: 26, type: "uint64" },
  { name: "sn", table: "holding", address: 30, type: "string", length: 8 },
  { name: "fan", table: "holding", address: 38, bit: 3 },
  { name: "mode", table: "holding", address: 38, bit: 13, bits: 3 },
  { name: "spare", table: "holding", address: 38, bit: 2, alarm: "spare_bit" },
]
  .map(pointToml)
  .join("")}`;

describe("modbus over RTU (a pty pair, or real adapters): new point kinds and the recorder's wire frames", {
  skip,
}, () => {
  let slave: Slave;
  before(async () => {
    slave = await startSlave({ rtu: true, units: [1, 2], realRtu: real });
  });
  after(async () => slave?.stop());

  test("int64, uint64, a string and bit fields over RTU", async () => {
    const path = real?.ledge ?? slave.rtuPath!;
    const h = await startHarness(rtu("rkinds", path) + NEW_TYPES);
    try {
      const m = h.json(await h.waitFor("values", (x) => x.topic === "te/device/rkinds///m/modbus"));
      assert.deepEqual(
        [m.i64, m.u64, m.fan, m.mode],
        [SLAVE_REGS.int64At22, SLAVE_REGS.uint64At26, 1, 0b101],
      );
      const twin = await h.waitFor("serial number twin", (x) => x.topic === "te/device/rkinds///twin/sn");
      assert.equal(JSON.parse(twin.payload), SLAVE_REGS.stringAt30);
    } finally {
      await h.stop();
    }
  });

  test("the recorder holds the frames on the wire, CRC included, and counts CRC errors per unit", async () => {
    const path = real?.ledge ?? slave.rtuPath!;
    const h = await startHarness(
      rtu("rrec", path, 2) + pointToml({ name: "v", table: "holding", address: 0 }),
    );
    try {
      await h.waitFor("values", (x) => x.topic === "te/device/rrec///m/modbus");
      await slave.fault("crc", [2]);
      await h.waitFor("alarm", alarmIs("rrec", "modbus_comm", true));
      const ev = h.json(await h.waitFor("alarm event", (x) => x.topic === "te/device/rrec///e/modbus_comm"));
      const rec = ev.recorder as {
        port: string;
        frames: { dir: string; hex: string }[];
        units: Record<string, Record<string, number>>;
      };
      assert.equal(rec.port, `rtu:${path}`);
      // FC3, 1 register at 0 of unit 2, with its CRC-16 (pymodbus computes the same)
      assert.ok(
        rec.frames.some((f) => f.dir === "tx" && f.hex === "0203000000018439"),
        JSON.stringify(rec.frames.slice(0, 4)),
      );
      assert.ok((rec.units["2"]?.crc_errors ?? 0) >= 1, JSON.stringify(rec.units));
    } finally {
      await slave.fault("none");
      await h.stop();
    }
  });
});

describe("modbus: what real equipment holds", { skip }, () => {
  let slave: Slave;
  before(async () => {
    slave = await startSlave({ tcp: true, units: [1, 2] });
  });
  after(async () => slave?.stop());

  test("int64, uint64, a string (on the twin) and bit fields decode as the slave holds them", async () => {
    const h = await startHarness(tcp("kinds", slave.tcpPort!) + NEW_TYPES);
    try {
      const m = h.json(await h.waitFor("values", (x) => x.topic === "te/device/kinds///m/modbus"));
      assert.equal(m.i64, SLAVE_REGS.int64At22);
      assert.equal(m.u64, SLAVE_REGS.uint64At26);
      assert.equal(m.fan, 1);
      assert.equal(m.mode, 0b101);
      assert.equal(m.sn, undefined, "a string is not a measurement");
      const twin = await h.waitFor("serial number twin", (x) => x.topic === "te/device/kinds///twin/sn");
      assert.equal(JSON.parse(twin.payload), SLAVE_REGS.stringAt30);
      assert.equal(twin.retain, false);
      // bit 2 is 0: a single-bit alarm point is cleared
      await h.waitFor("spare_bit state", alarmIs("kinds", "spare_bit", false));
      // published once: polls that read the same text publish nothing
      await h.waitFor(
        "more values",
        (x) => x.topic === "te/device/kinds///m/modbus",
        8000,
        h.seen.indexOf(twin) + 3,
      );
      assert.equal(h.seen.filter((x) => x.topic === "te/device/kinds///twin/sn").length, 1);
    } finally {
      await h.stop();
    }
  });

  test("a point refused with an exception: named with its register in the twin and a throttled event; the twin is not republished while it persists", async () => {
    const points =
      pointToml({ name: "ok", table: "holding", address: 0 }) +
      pointToml({ name: "gone", table: "input", address: 500 });
    const h = await startHarness(
      `${tcp("exc", slave.tcpPort!)}\n${points}`,
      "[modbus]\nstats_interval_s = 0\npoint_error_event_interval_s = 3600\n",
    );
    try {
      const twin = h.json(
        await h.waitFor(
          "twin naming the point",
          (x) => x.topic === "te/device/exc///twin/modbus" && "point_errors" in h.json(x),
        ),
      );
      assert.deepEqual(twin.point_errors, { gone: "input 500: Modbus exception 2 (illegal data address)" });
      const ev = h.json(await h.waitFor("event", (x) => x.topic === "te/device/exc///e/modbus_point_error"));
      assert.equal(ev.text, "point 'gone' (input 500: Modbus exception 2 (illegal data address))");
      assert.deepEqual([ev.point, ev.table, ev.address, ev.code], ["gone", "input", 500, 2]);
      // many polls later: still one event, and the twin was not republished for the growing counters
      const polls = (n: number) => h.seen.filter((x) => x.topic === "te/device/exc///m/modbus").length >= n;
      await h.waitFor("10 more polls", () => polls(12));
      assert.equal(h.seen.filter((x) => x.topic === "te/device/exc///e/modbus_point_error").length, 1);
      const twins = h.seen.filter((x) => x.topic === "te/device/exc///twin/modbus");
      assert.ok(twins.length <= 2, `${twins.length} twin messages while nothing changed`);
    } finally {
      await h.stop();
    }
  });

  test("positive control: with a stats interval the twin is refreshed with its counters", async () => {
    const points =
      pointToml({ name: "gone", table: "input", address: 500 }) +
      pointToml({ name: "ok", table: "holding", address: 0 });
    const h = await startHarness(
      `${tcp("exc2", slave.tcpPort!)}\n${points}`,
      "[modbus]\nstats_interval_s = 1\n",
    );
    try {
      await h.waitFor(
        "two twin refreshes",
        () => h.seen.filter((x) => x.topic === "te/device/exc2///twin/modbus").length >= 3,
        5000,
      );
    } finally {
      await h.stop();
    }
  });

  test("the communication alarm's event carries the flight recorder; the recorder log is written for log_upload", async () => {
    const h = await startHarness(
      tcp("rec", slave.tcpPort!, 2) + pointToml({ name: "v", table: "holding", address: 0 }),
    );
    try {
      await h.waitFor("values", (x) => x.topic === "te/device/rec///m/modbus");
      await slave.fault("silent", [2]);
      await h.waitFor("alarm", alarmIs("rec", "modbus_comm", true));
      const ev = h.json(await h.waitFor("alarm event", (x) => x.topic === "te/device/rec///e/modbus_comm"));
      assert.match(String(ev.text), /does not answer/);
      const rec = ev.recorder as {
        port: string;
        frames: { dir: string; hex: string; gap_ms: number }[];
        units: Record<string, Record<string, number>>;
      };
      assert.equal(rec.port, `tcp:127.0.0.1:${slave.tcpPort}`);
      assert.ok(
        rec.frames.some((f) => f.dir === "tx" && f.hex.startsWith("020300000001")),
        "the read request of unit 2",
      );
      assert.ok(
        rec.frames.some((f) => f.dir === "rx" && f.hex.startsWith("020302")),
        "an answer of unit 2",
      );
      assert.ok((rec.units["2"]?.ok ?? 0) >= 1);
      assert.ok((rec.units["2"]?.timeouts ?? 0) >= 1);
      assert.ok(typeof rec.units["2"]?.avg_ms === "number");
      const file = h.component.recorderLog.file;
      const log = await waitForFile(file);
      assert.match(log, /^\d{4}-\d\d-\d\dT\S+Z tcp:127\.0\.0\.1:\d+ tx \+\d+ms 02 03 00 00 00 01/m);
      assert.match(log, / unit 2 \{"requests":\d+,"ok":\d+,"timeouts":[1-9]/);
    } finally {
      await slave.fault("none");
      await h.stop();
    }
  });
});

async function waitForFile(file: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(file)) return readFileSync(file, "utf8");
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${file} was not written`);
}

describe("modbus.toml reloaded on change", { skip }, () => {
  let slave: Slave;
  let h: Harness;
  before(async () => {
    slave = await startSlave({ tcp: true, units: [1, 2] });
  });
  after(async () => {
    await h?.stop();
    await slave?.stop();
  });

  test("only the changed device restarts; a new one starts; a removed one is deregistered", async () => {
    const a = tcp("a", slave.tcpPort!, 1) + pointToml({ name: "v", table: "holding", address: 0 });
    const b = tcp("b", slave.tcpPort!, 2) + pointToml({ name: "v", table: "holding", address: 0 });
    h = await startHarness(a + b);
    await h.waitFor("a", (x) => x.topic === "te/device/a///m/modbus");
    await h.waitFor("b", (x) => x.topic === "te/device/b///m/modbus");
    const runtimeA = h.component.devices.get("a");
    const runtimeB = h.component.devices.get("b");
    const n = h.seen.length;
    const b2 = tcp("b", slave.tcpPort!, 2) + pointToml({ name: "w", table: "holding", address: 100 });
    const c = tcp("c", slave.tcpPort!, 1) + pointToml({ name: "x", table: "holding", address: 200 });
    writeFileSync(join(h.dir, "modbus.toml"), a + b2 + c);
    const w = await h.waitFor(
      "b's new point",
      (x) => x.topic === "te/device/b///m/modbus" && "w" in h.json(x),
      8000,
      n,
    );
    assert.equal(h.json(w).w, SLAVE_REGS.unitAt100(2));
    assert.equal(
      h.json(await h.waitFor("c", (x) => x.topic === "te/device/c///m/modbus", 8000, n)).x,
      SLAVE_REGS.at200,
    );
    assert.equal(h.component.devices.get("a"), runtimeA, "a is untouched");
    assert.notEqual(h.component.devices.get("b"), runtimeB, "b restarted");
    const m = h.seen.length;
    writeFileSync(join(h.dir, "modbus.toml"), a + b2);
    await h.waitFor("c deregistered", (x) => x.topic === "te/device/c//" && x.payload === "", 8000, m);
    assert.equal(h.component.devices.has("c"), false);
  });

  test("a bad file is rejected with file, line and reason; the running devices go on", async () => {
    const n = h.seen.length;
    writeFileSync(
      join(h.dir, "modbus.toml"),
      tcp("a", slave.tcpPort!, 1).replace("unit_id = 1", "unit_id = 999"),
    );
    const ev = h.json(
      await h.waitFor("rejected", (x) => x.topic === "te/device/main///e/modbus_config_rejected", 8000, n),
    );
    assert.match(String(ev.text), /modbus\.toml:\d+: .*unit_id/);
    assert.match(
      String(ev.text),
      /modbus\.toml:\d+: device #1 'a': a device needs at least one \[\[device\.point\]\]/,
    );
    const k = h.seen.length;
    await h.waitFor("a still polled", (x) => x.topic === "te/device/a///m/modbus", 8000, k);
    await h.waitFor("b still polled", (x) => x.topic === "te/device/b///m/modbus", 8000, k);
  });
});
