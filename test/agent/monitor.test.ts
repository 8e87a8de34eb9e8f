import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  cpuPercent,
  diskGroup,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseThermal,
  systemMeasurement,
} from "../../src/agent/monitor/parse.ts";
import { readSample, SystemMonitor } from "../../src/agent/monitor/system-monitor.ts";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { createLogger } from "../../src/foundation/logger.ts";

const STAT1 = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\nintr 1\n";
const STAT2 = "cpu  150 0 150 800 100 0 0 0 0 0\ncpu0 75 0 75 400 50 0 0 0 0 0\n";
const MEMINFO =
  "MemTotal:        1000000 kB\nMemFree:          200000 kB\nMemAvailable:     400000 kB\nBuffers:           10000 kB\n";
const MEMINFO_OLD =
  "MemTotal:        1000 kB\nMemFree:          100 kB\nBuffers:           50 kB\nCached:           250 kB\n";
const NETDEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999     10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0
  eth0: 1000 20 0 0 0 0 0 0 2000 30 0 0 0 0 0 0
wlan0:500 1 0 0 0 0 0 0 600 1 0 0 0 0 0 0
`;

describe("/proc and /sys parsers", () => {
  it("/proc/stat aggregate cpu line (idle + iowait)", () =>
    assert.deepEqual(parseProcStat(STAT1), { total: 1000, idle: 800 }));
  it("/proc/stat without a cpu line", () => assert.equal(parseProcStat("intr 1\n"), undefined));
  it("cpu percent between two samples", () =>
    assert.equal(cpuPercent(parseProcStat(STAT1)!, parseProcStat(STAT2)!), 50));
  it("cpu percent with no elapsed ticks", () =>
    assert.equal(cpuPercent(parseProcStat(STAT1)!, parseProcStat(STAT1)!), undefined));
  it("meminfo with MemAvailable", () =>
    assert.deepEqual(parseMeminfo(MEMINFO), { totalBytes: 1_024_000_000, availableBytes: 409_600_000 }));
  it("meminfo of old kernels (free + buffers + cached)", () =>
    assert.deepEqual(parseMeminfo(MEMINFO_OLD), { totalBytes: 1_024_000, availableBytes: 409_600 }));
  it("meminfo garbage", () => assert.equal(parseMeminfo("nothing"), undefined));
  it("loadavg", () => assert.deepEqual(parseLoadavg("0.52 0.58 0.59 1/389 12345\n"), [0.52, 0.58, 0.59]));
  it("loadavg garbage", () => assert.equal(parseLoadavg("x y"), undefined));
  it("net/dev without loopback, with and without a space after the colon", () =>
    assert.deepEqual(
      [...parseNetDev(NETDEV)],
      [
        ["eth0", { rxBytes: 1000, txBytes: 2000 }],
        ["wlan0", { rxBytes: 500, txBytes: 600 }],
      ],
    ));
  const thermal: [string, number | undefined][] = [
    ["45200\n", 45.2],
    ["-5000", -5],
    ["", undefined],
    ["hot", undefined],
  ];
  for (const [text, want] of thermal)
    it(`thermal ${JSON.stringify(text)}`, () => assert.equal(parseThermal(text), want));
  const disks: [string, string][] = [
    ["/", "disk_root"],
    ["/var/lib", "disk_var_lib"],
    ["/data/", "disk_data"],
  ];
  for (const [m, want] of disks) it(`disk group ${m}`, () => assert.equal(diskGroup(m), want));
});

describe("system measurement", () => {
  const base = {
    net: new Map([["eth0", { rxBytes: 1000, txBytes: 2000 }]]),
    temps: new Map<string, number>(),
    disks: [],
  };
  it("first sample: no rates, no cpu usage", () => {
    const m = systemMeasurement(undefined, { ...base, at: 0, cpu: parseProcStat(STAT1), load: [1, 2, 3] });
    assert.deepEqual(m, {
      cpu: { load1: 1, load5: 2, load15: 3 },
      net_eth0: { rx_bytes: 1000, tx_bytes: 2000 },
    });
  });
  it("second sample: cpu usage, rates, memory, disk, temperature", () => {
    const prev = { ...base, at: 0, cpu: parseProcStat(STAT1) };
    const cur = {
      at: 10_000,
      cpu: parseProcStat(STAT2),
      mem: parseMeminfo(MEMINFO),
      net: new Map([["eth0", { rxBytes: 11_000, txBytes: 2000 }]]),
      temps: new Map([["cpu_thermal", 45.2]]),
      disks: [{ mount: "/", totalBytes: 1000, freeBytes: 250 }],
    };
    assert.deepEqual(systemMeasurement(prev, cur), {
      cpu: { usage_percent: 50 },
      memory: { total_bytes: 1_024_000_000, available_bytes: 409_600_000, used_percent: 60 },
      disk_root: { total_bytes: 1000, free_bytes: 250, used_percent: 75 },
      net_eth0: { rx_bytes: 11_000, tx_bytes: 2000, rx_bytes_per_s: 1000, tx_bytes_per_s: 0 },
      temperature: { cpu_thermal: 45.2 },
    });
  });
  it("a counter reset yields no negative rate", () => {
    const m = systemMeasurement(
      { ...base, at: 0 },
      { ...base, at: 1000, net: new Map([["eth0", { rxBytes: 5, txBytes: 5 }]]) },
    );
    assert.deepEqual(m.net_eth0, { rx_bytes: 5, tx_bytes: 5 });
  });
});

describe("readSample from a sample /proc and /sys tree", () => {
  const dir = mkdtempSync(join(tmpdir(), "ledge-mon-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it("reads every source and names thermal zones by type", async () => {
    const proc = join(dir, "proc");
    const sys = join(dir, "sys");
    mkdirSync(join(proc, "net"), { recursive: true });
    writeFileSync(join(proc, "stat"), STAT1);
    writeFileSync(join(proc, "meminfo"), MEMINFO);
    writeFileSync(join(proc, "loadavg"), "0.1 0.2 0.3 1/2 3\n");
    writeFileSync(join(proc, "net/dev"), NETDEV);
    for (const [z, type, t] of [
      ["thermal_zone0", "cpu-thermal", "51000"],
      ["thermal_zone1", "", "30500"],
    ]) {
      mkdirSync(join(sys, "class/thermal", z!), { recursive: true });
      writeFileSync(join(sys, "class/thermal", z!, "temp"), `${t}\n`);
      if (type) writeFileSync(join(sys, "class/thermal", z!, "type"), `${type}\n`);
    }
    const s = await readSample({ proc, sys, disks: ["/", "/does/not/exist"], clock: () => 42 });
    assert.equal(s.at, 42);
    assert.deepEqual(s.cpu, { total: 1000, idle: 800 });
    assert.deepEqual(s.load, [0.1, 0.2, 0.3]);
    assert.deepEqual(
      [...s.temps],
      [
        ["cpu_thermal", 51],
        ["thermal_zone1", 30.5],
      ],
    );
    assert.equal(s.disks.length, 1);
    assert.ok(s.disks[0]!.totalBytes > 0);
  });
});

describe("SystemMonitor", () => {
  it("stop() waits for a sample in progress: nothing is published after it returns", async () => {
    const log = createLogger({ level: "error" });
    const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: 0, log });
    const bus = new LocalBus(broker.core);
    try {
      const got: string[] = [];
      await bus.subscribe("te/device/main///m/system", (m) => got.push(m.payload.toString()));
      const monitor = new SystemMonitor({
        bus,
        topic: "te/device/main///m/system",
        intervalS: 3600,
        disks: [],
        clock: Date.now,
        log,
      });
      await monitor.start();
      void monitor.tick();
      await monitor.stop();
      const atStop = got.length;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(got.length, atStop, "published after stop()");
      assert.equal(atStop, 1);
    } finally {
      await broker.stop();
    }
  });
});
