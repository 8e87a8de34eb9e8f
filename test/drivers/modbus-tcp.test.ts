/**
 * The modbus component against an independent slave (pymodbus, hw-test/modbus/slave.py) over
 * Modbus TCP on loopback: readings, coalescing, exception responses, no answer, device removed and
 * restored, garbage on the link, writes, alarm points, and a slow device beside a healthy one.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { alarmIs, healthIs, startHarness } from "../helpers/modbus-harness.ts";
import { SLAVE_REGS, type Slave, slaveAvailable, startSlave } from "../helpers/modbus-slave.ts";
import { deviceToml, pointToml } from "../helpers/modbus-toml.ts";

const skip = slaveAvailable();

function tcpDevice(name: string, port: number, unit: number, interval = 0.2): string {
  return `\n${deviceToml({
    name,
    transport: "tcp",
    host: "127.0.0.1",
    port,
    unit_id: unit,
    poll_interval_s: interval,
    timeout_ms: 300,
    retries: 0,
    backoff_max_s: 0.4,
  })}`;
}

const ALL_TYPES = `\n${[
  { name: "u16", table: "holding", address: 0 },
  { name: "i16", table: "holding", address: 1, type: "int16" },
  { name: "i32", table: "holding", address: 2, type: "int32" },
  { name: "f32", table: "holding", address: 4, type: "float32" },
  { name: "f32_cdab", table: "holding", address: 6, type: "float32", word_order: "little" },
  { name: "f64", table: "holding", address: 8, type: "float64" },
  { name: "u32", table: "holding", address: 12, type: "uint32" },
  { name: "i32_cdab", table: "holding", address: 14, type: "int32", word_order: "little" },
  { name: "f32_badc", table: "holding", address: 16, type: "float32", byte_order: "little" },
  {
    name: "f32_dcba",
    table: "holding",
    address: 18,
    type: "float32",
    byte_order: "little",
    word_order: "little",
  },
  {
    name: "temperature",
    table: "holding",
    address: 20,
    type: "uint16",
    scale: 0.01,
    offset: -3,
    measurement: "environment",
    series: "boiler.temperature",
  },
  { name: "in3", table: "input", address: 3 },
  { name: "in4", table: "input", address: 4 },
  { name: "coil3", table: "coil", address: 3 },
  { name: "coil4", table: "coil", address: 4 },
  { name: "di1", table: "discrete_input", address: 1 },
]
  .map((p) => pointToml({ measurement: "values", ...p }))
  .join("")}`;

describe("modbus TCP against pymodbus", { skip }, () => {
  let slave: Slave;
  before(async () => {
    slave = await startSlave({ tcp: true, units: [1, 2, 3] });
  });
  after(async () => {
    await slave?.stop();
  });

  test("registers the child device, announces modbus_write and publishes every point type with the read time", async () => {
    const h = await startHarness(tcpDevice("meter", slave.tcpPort!, 2) + ALL_TYPES);
    try {
      const reg = await h.waitFor("registration", (m) => m.topic === "te/device/meter//");
      assert.deepEqual(h.json(reg), {
        "@type": "child-device",
        "@parent": "device/main//",
        name: "meter",
        type: "modbus-device",
      });
      const cap = await h.waitFor("capability", (m) => m.topic === "te/device/meter///cmd/modbus_write");
      assert.equal(cap.payload, "{}");
      const before = Date.now();
      const m = await h.waitFor("values", (x) => x.topic === "te/device/meter///m/values");
      const v = h.json(m);
      assert.equal(v.u16, SLAVE_REGS.uint16At0(2));
      assert.equal(v.i16, SLAVE_REGS.int16At1);
      assert.equal(v.i32, SLAVE_REGS.int32At2);
      assert.equal(v.f32, SLAVE_REGS.float32At4);
      assert.equal(v.f32_cdab, SLAVE_REGS.float32CdabAt6);
      assert.equal(v.f64, SLAVE_REGS.float64At8);
      assert.equal(v.u32, SLAVE_REGS.uint32At12);
      assert.equal(v.i32_cdab, SLAVE_REGS.int32CdabAt14);
      assert.equal(v.f32_badc, SLAVE_REGS.float32BadcAt16);
      assert.equal(v.f32_dcba, SLAVE_REGS.float32DcbaAt18);
      assert.equal(v.in3, SLAVE_REGS.input(2, 3));
      assert.equal(v.in4, SLAVE_REGS.input(2, 4));
      assert.equal(v.coil3, SLAVE_REGS.coil(3) ? 1 : 0);
      assert.equal(v.coil4, SLAVE_REGS.coil(4) ? 1 : 0);
      assert.equal(v.di1, SLAVE_REGS.discrete(1) ? 1 : 0);
      const t = Date.parse(String(v.time));
      assert.ok(Math.abs(t - before) < 5000, `time ${v.time} is the read time`);
      const env = h.json(
        await h.waitFor("environment", (x) => x.topic === "te/device/meter///m/environment"),
      );
      assert.ok(Math.abs((env.boiler as { temperature: number }).temperature - (2315 * 0.01 - 3)) < 1e-9);
      const health = await h.waitFor("health", (x) => x.topic === "te/device/meter///status/health");
      assert.equal(h.json(health).status, "up");
    } finally {
      await h.stop();
    }
  });

  test("coalesces the points of a poll into one request per table", async () => {
    await slave.command("reset_stats");
    const h = await startHarness(tcpDevice("coalesce", slave.tcpPort!, 3, 60) + ALL_TYPES);
    try {
      await h.waitFor("values", (x) => x.topic === "te/device/coalesce///m/values");
      const s = await slave.stats();
      // holding 0..20, input 3..4, coils 3..4, discrete input 1: four requests for 16 points
      assert.equal(s.by_unit["3"], 4);
      assert.deepEqual(s.by_fc, { "1": 1, "2": 1, "3": 1, "4": 1 });
    } finally {
      await h.stop();
    }
  });

  test("an exception response (illegal data address) is counted, the other points still arrive and the device stays up", async () => {
    const extra =
      pointToml({ name: "ok", table: "holding", address: 299 }) +
      pointToml({ name: "missing", table: "holding", address: 300 }) +
      pointToml({ name: "far", table: "input", address: 500 });
    const h = await startHarness(tcpDevice("exc", slave.tcpPort!, 1) + extra);
    try {
      // holding 299..300 is one coalesced read the slave refuses: split into single reads, 299 survives
      const m = await h.waitFor(
        "ok value",
        (x) => x.topic === "te/device/exc///m/modbus" && "ok" in h.json(x),
      );
      assert.equal(h.json(m).ok, 299);
      assert.equal(h.json(m).missing, undefined);
      const twin = await h.waitFor(
        "exception counters",
        (x) =>
          x.topic === "te/device/exc///twin/modbus" &&
          ((h.json(x).exceptions as Record<string, number>)["2"] ?? 0) >= 3,
      );
      assert.match(String(h.json(twin).last_error), /Modbus exception 2 \(illegal data address\)/);
      assert.equal(h.seen.some(alarmIs("exc", "modbus_comm", true)), false);
      const health = await h.waitFor("health", (x) => x.topic === "te/device/exc///status/health");
      assert.equal(h.json(health).status, "up");
    } finally {
      await h.stop();
    }
  });

  test("a unit that stops answering raises modbus_comm and goes down; both clear when it answers again", async () => {
    const h = await startHarness(tcpDevice("quiet", slave.tcpPort!, 1) + ALL_TYPES);
    try {
      await h.waitFor("first values", (x) => x.topic === "te/device/quiet///m/values");
      await slave.fault("silent", [1]);
      const alarm = await h.waitFor("alarm", alarmIs("quiet", "modbus_comm", true));
      assert.equal(alarm.retain, false); // live delivery; retained flag is set on the publish
      assert.match(String(h.json(alarm).text), /does not answer: Timed out/);
      assert.equal(h.json(alarm).severity, "major");
      const down = await h.waitFor("down", healthIs("quiet", "down"));
      const n = h.seen.length;
      await slave.fault("none", [1]);
      await h.waitFor("alarm cleared", alarmIs("quiet", "modbus_comm", false), 8000, n);
      await h.waitFor("up", healthIs("quiet", "up"), 8000, n);
      await h.waitFor("values again", (x) => x.topic === "te/device/quiet///m/values", 8000, n);
      const twin = h.json(
        await h.waitFor(
          "timeouts counted",
          (x) => x.topic === "te/device/quiet///twin/modbus" && (h.json(x).timeouts as number) > 0,
        ),
      );
      assert.ok((twin.failed as number) >= 1);
      assert.ok(down);
    } finally {
      await slave.fault("none");
      await h.stop();
    }
  });

  test("a unit id the slave does not serve never answers: alarm and down", async () => {
    const h = await startHarness(tcpDevice("ghost", slave.tcpPort!, 77) + ALL_TYPES);
    try {
      await h.waitFor("alarm", alarmIs("ghost", "modbus_comm", true));
      await h.waitFor("down", healthIs("ghost", "down"));
      assert.equal(
        h.seen.some((x) => x.topic.startsWith("te/device/ghost///m/")),
        false,
      );
    } finally {
      await h.stop();
    }
  });

  test("the device removed (connection refused) and restored: alarm raised, then cleared by itself", async () => {
    const h = await startHarness(tcpDevice("unplug", slave.tcpPort!, 2) + ALL_TYPES);
    try {
      await h.waitFor("first values", (x) => x.topic === "te/device/unplug///m/values");
      await slave.command("remove");
      const alarm = await h.waitFor("alarm", alarmIs("unplug", "modbus_comm", true));
      assert.match(String(h.json(alarm).text), /does not answer/);
      const n = h.seen.length;
      await slave.command("restore");
      await h.waitFor("alarm cleared", alarmIs("unplug", "modbus_comm", false), 8000, n);
      await h.waitFor("values again", (x) => x.topic === "te/device/unplug///m/values", 8000, n);
    } finally {
      await slave.command("restore");
      await h.stop();
    }
  });

  test("garbage instead of responses: counted, device down; recovers when the link is clean", async () => {
    const h = await startHarness(tcpDevice("noisy", slave.tcpPort!, 3) + ALL_TYPES);
    try {
      await h.waitFor("first values", (x) => x.topic === "te/device/noisy///m/values");
      await slave.fault("garbage", [3]);
      await h.waitFor("down", healthIs("noisy", "down"));
      const n = h.seen.length;
      await slave.fault("none");
      await h.waitFor("up", healthIs("noisy", "up"), 8000, n);
      await h.waitFor("values again", (x) => x.topic === "te/device/noisy///m/values", 8000, n);
    } finally {
      await slave.fault("none");
      await h.stop();
    }
  });

  test("modbus_write: by point and raw, successful and failed with the Modbus exception", async () => {
    const extra =
      pointToml({ name: "setpoint", table: "holding", address: 50, type: "float32", scale: 0.5 }) +
      pointToml({ name: "relay", table: "coil", address: 7 }) +
      pointToml({ name: "reading", table: "input", address: 0 });
    const h = await startHarness(tcpDevice("plc", slave.tcpPort!, 1, 5) + extra);
    try {
      await h.waitFor("capability", (x) => x.topic === "te/device/plc///cmd/modbus_write");
      const cmd = "te/device/plc///cmd/modbus_write";
      const outcome = async (id: string, body: object): Promise<Record<string, unknown>> => {
        const n = h.seen.length;
        await h.publish(`${cmd}/${id}`, JSON.stringify({ status: "init", ...body }));
        const done = h.json(
          await h.waitFor(
            `${id} done`,
            (x) => x.topic === `${cmd}/${id}` && ["successful", "failed"].includes(String(h.json(x).status)),
            5000,
            n,
          ),
        );
        // a request that reaches the device goes through executing; a refused one may fail at once
        const executing = h.seen
          .slice(n)
          .some((x) => x.topic === `${cmd}/${id}` && h.json(x).status === "executing");
        return { ...done, executing };
      };
      const ok = await outcome("w1", { point: "setpoint", value: 42.5 });
      assert.equal(ok.status, "successful", String(ok.reason));
      assert.equal(ok.executing, true);
      assert.deepEqual(ok.result, { table: "holding", address: 50, values: [17066, 0] });
      // 42.5 / scale 0.5 = 85.0 as float32 ABCD = 0x42AA 0x0000
      assert.equal(await slave.command("get 1 holding 50 2"), "[17066, 0]");
      const coil = await outcome("w2", { point: "relay", value: true });
      assert.equal(coil.status, "successful");
      assert.equal(await slave.command("get 1 coil 7 1"), "[1]");
      const raw = await outcome("w3", { table: "holding", address: 60, type: "int32", value: -2 });
      assert.equal(raw.status, "successful");
      assert.equal(await slave.command("get 1 holding 60 2"), "[65535, 65534]");
      const ro = await outcome("w4", { point: "reading", value: 1 });
      assert.equal(ro.status, "failed");
      assert.match(String(ro.reason), /read-only/);
      const exc = await outcome("w5", { table: "holding", address: 400, value: 1 });
      assert.equal(exc.status, "failed");
      assert.match(String(exc.reason), /Modbus exception 2 \(illegal data address\)/);
      assert.equal(exc.executing, true);
      const bad = await (async () => {
        const n = h.seen.length;
        await h.publish(`${cmd}/w6`, JSON.stringify({ status: "init", point: "nope", value: 1 }));
        return h.json(
          await h.waitFor(
            "w6 failed",
            (x) => x.topic === `${cmd}/w6` && h.json(x).status === "failed",
            5000,
            n,
          ),
        );
      })();
      assert.match(String(bad.reason), /no point 'nope'/);
    } finally {
      await h.stop();
    }
  });

  test("modbus_read: one read of a range for commissioning, refused with a reason when out of range", async () => {
    const h = await startHarness(
      tcpDevice("probe", slave.tcpPort!, 2, 5) + pointToml({ name: "x", table: "holding", address: 0 }),
    );
    try {
      const cap = await h.waitFor("capability", (x) => x.topic === "te/device/probe///cmd/modbus_read");
      assert.equal(cap.payload, "{}");
      const cmd = "te/device/probe///cmd/modbus_read";
      const outcome = async (id: string, body: object) => {
        const n = h.seen.length;
        await h.publish(`${cmd}/${id}`, JSON.stringify({ status: "init", ...body }));
        return h.json(
          await h.waitFor(
            `${id} done`,
            (x) => x.topic === `${cmd}/${id}` && ["successful", "failed"].includes(String(h.json(x).status)),
            5000,
            n,
          ),
        );
      };
      const holding = await outcome("r1", { table: "holding", address: 1, count: 1 });
      assert.equal(holding.status, "successful", String(holding.reason));
      assert.deepEqual(holding.values, [SLAVE_REGS.int16At1 & 0xffff]);
      const inputs = await outcome("r2", { table: "input", address: 3, count: 2 });
      assert.deepEqual(inputs.values, [SLAVE_REGS.input(2, 3), SLAVE_REGS.input(2, 4)]);
      const coils = await outcome("r3", { table: "coil", address: 3, count: 2 });
      assert.deepEqual(coils.values, [SLAVE_REGS.coil(3) ? 1 : 0, SLAVE_REGS.coil(4) ? 1 : 0]);
      const exc = await outcome("r4", { table: "holding", address: 400, count: 1 });
      assert.match(String(exc.reason), /Modbus exception 2 \(illegal data address\)/);
      const big = await outcome("r5", { table: "holding", address: 0, count: 126 });
      assert.match(String(big.reason), /'count' must be an integer 1\.\.125 for holding/);
      const table = await outcome("r6", { table: "nope", address: 0 });
      assert.match(String(table.reason), /'table' must be one of coil, discrete_input, holding, input/);
    } finally {
      await h.stop();
    }
  });

  test("a write left executing by a stopped process is failed on start; a pending init is carried out", async () => {
    const toml =
      tcpDevice("restart", slave.tcpPort!, 3, 5) + pointToml({ name: "sp", table: "holding", address: 80 });
    const cmd = "te/device/restart///cmd/modbus_write";
    const h = await startHarness(toml, "", [
      { topic: `${cmd}/old`, payload: JSON.stringify({ status: "executing", point: "sp", value: 5 }) },
      { topic: `${cmd}/new`, payload: JSON.stringify({ status: "init", point: "sp", value: 9 }) },
    ]);
    try {
      const old = await h.waitFor(
        "old failed",
        (x) => x.topic === `${cmd}/old` && h.json(x).status === "failed",
      );
      assert.match(String(h.json(old).reason), /interrupted/);
      await h.waitFor("new done", (x) => x.topic === `${cmd}/new` && h.json(x).status === "successful");
      assert.equal(await slave.command("get 3 holding 80 1"), "[9]");
    } finally {
      await h.stop();
    }
  });

  test("an invalid file starts nothing: no registration, no poll", async () => {
    await slave.command("reset_stats");
    await assert.rejects(
      startHarness(
        tcpDevice("half", slave.tcpPort!, 1) +
          ALL_TYPES +
          pointToml({ name: "bad", table: "holding", address: 99999 }),
      ),
      /modbus\.toml:\d+: device #1 'half' point #17 'bad': 'address' must be an integer between 0 and 65535, not 99999/,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await slave.stats()).requests, 0);
  });

  test("an alarm point raises its alarm above the threshold and clears it below", async () => {
    const extra = pointToml({
      name: "pressure",
      table: "holding",
      address: 70,
      alarm: "overpressure",
      condition: ">",
      threshold: 100,
      severity: "critical",
      text: "Pressure too high",
    });
    await slave.command("set 2 holding 70 50");
    const h = await startHarness(tcpDevice("tank", slave.tcpPort!, 2) + extra);
    try {
      const cleared = await h.waitFor("initial clear", (x) => x.topic === "te/device/tank///a/overpressure");
      assert.equal(cleared.payload, "");
      await slave.command("set 2 holding 70 150");
      const raised = await h.waitFor("raised", alarmIs("tank", "overpressure", true));
      assert.equal(h.json(raised).severity, "critical");
      assert.equal(h.json(raised).text, "Pressure too high");
      const n = h.seen.length;
      await slave.command("set 2 holding 70 90");
      await h.waitFor("cleared", alarmIs("tank", "overpressure", false), 5000, n);
    } finally {
      await h.stop();
    }
  });

  test("polls that take longer than the interval are skipped and counted, never queued up", async () => {
    const slow = await startSlave({ tcp: true, units: [1] });
    await slow.command("delay 350");
    const toml =
      tcpDevice("late", slow.tcpPort!, 1, 0.1).replace("timeout_ms = 300", "timeout_ms = 1000") + ALL_TYPES;
    const h = await startHarness(toml);
    try {
      await h.waitFor("values", (x) => x.topic === "te/device/late///m/values");
      await new Promise((r) => setTimeout(r, 1500));
      const dev = h.component.devices.get("late")!;
      assert.ok(dev.endpoint.queue.size <= dev.endpoint.queue.capacity);
      assert.ok(dev.endpoint.queue.size <= 1, `queue holds ${dev.endpoint.queue.size} jobs`);
      const twin = h.json(
        await h.waitFor(
          "skips counted",
          (x) => x.topic === "te/device/late///twin/modbus" && (h.json(x).skipped as number) >= 5,
        ),
      );
      assert.equal(twin.failed, 0, "a late poll is not a failed one");
      const health = h.seen
        .filter((x) => x.topic === "te/device/late///status/health")
        .map((x) => h.json(x).status);
      assert.deepEqual(health, ["up"]);
    } finally {
      await h.stop();
      await slow.stop();
    }
  });

  test("a slow device on its own endpoint never stalls a healthy one", async () => {
    const slow = await startSlave({ tcp: true, units: [1] });
    await slow.command("delay 1000");
    const h = await startHarness(
      tcpDevice("slow", slow.tcpPort!, 1) + ALL_TYPES + tcpDevice("fast", slave.tcpPort!, 1, 0.1) + ALL_TYPES,
    );
    try {
      await h.waitFor("fast values", (x) => x.topic === "te/device/fast///m/values");
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      const fast = h.seen.filter((x) => x.topic === "te/device/fast///m/values" && x.at >= t0);
      assert.ok(fast.length >= 10, `fast device published ${fast.length} times in 1.5 s`);
      await h.waitFor("slow is down", healthIs("slow", "down"));
    } finally {
      await h.stop();
      await slow.stop();
    }
  });
});
