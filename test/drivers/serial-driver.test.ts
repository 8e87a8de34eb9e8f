/**
 * The serial sensor driver against emulated sensors on socat pty pairs: the end-to-end script
 * (hw-test/serial/driver-e2e.ts) in this Node process and again under Bun (termios transport), plus
 * the start-up cases: invalid file, missing file, sensor absent at start, bad-line rate limiting.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type CheckResult, driverE2E, E2E_FORMAT_CHECK } from "../../hw-test/serial/driver-e2e.ts";
import { createPtyPair, type PtyPair } from "../../hw-test/serial/pty-pair.ts";
import { FORMATS, play } from "../../hw-test/serial/sensor-emulator.ts";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import type { BusMessage } from "../../src/bus/bus.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createSerialComponent } from "../../src/drivers/serial/component.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { waitFor } from "../helpers/ports.ts";
import { BUN, jsonLines, ROOT, runCommand } from "../helpers/targets-bin.ts";

const log = createLogger({ level: "error" });

const E2E_NAMES = [
  "the serial component reports health up as service ledge-serial",
  "every sensor is registered as a child device and is up",
  "units are published on the retained meta topic",
  // every format of the emulator: the classic ones and what real equipment sends (issue 15)
  ...FORMATS.map((f) => `${f}: ${E2E_FORMAT_CHECK}`),
  "unplugged: status down and an alarm; plugged back: up, alarm cleared, readings again",
  "the component stops cleanly and reports health down",
];

function e2eSuite(runtime: string, results: () => CheckResult[] | undefined) {
  for (const name of E2E_NAMES)
    it(name, () => {
      const r = results()?.find((x) => x.name === name);
      assert.ok(r, `${runtime}: check '${name}' did not run`);
      assert.ok(r.ok, r.error);
    });
}

describe("serial driver end to end under Node (ledge run broker serial, serialport)", () => {
  let results: CheckResult[] | undefined;
  before(async () => {
    results = await driverE2E();
  });
  e2eSuite("node", () => results);
});

describe("serial driver end to end under Bun (termios transport)", {
  skip: !existsSync(BUN) && "no bun",
}, () => {
  let results: CheckResult[] | undefined;
  let stderr = "";
  before(async () => {
    const r = await runCommand(BUN, [join(ROOT, "hw-test/serial/driver-e2e.ts")], {
      cwd: ROOT,
      env: process.env,
      timeoutMs: 60_000,
    });
    stderr = r.stderr;
    const lines = jsonLines<CheckResult & { runtime?: string; done?: boolean }>(r.stdout);
    results = lines.filter((l) => !l.done && l.runtime === "bun");
    if (results.length === 0) results = undefined;
  });
  e2eSuite("bun", () => results);
  it("the Bun run produced output", () =>
    assert.ok(results, `no results from bun (stderr: ${stderr.slice(0, 2000)})`));
});

/** A serial component on an in-process bus, with an observer collecting everything under te/. */
async function harness(dir: string, overrides: Record<string, string> = {}) {
  const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: 0, log });
  const bus = new LocalBus(broker.core);
  const seen: BusMessage[] = [];
  await bus.subscribe("te/#", (m) => seen.push(m));
  const config = loadConfig(dir, {
    LEDGE_SERIAL_RECONNECT_MIN_MS: "50",
    LEDGE_SERIAL_RECONNECT_MAX_MS: "100",
    LEDGE_SERIAL_STATS_INTERVAL_S: "0",
    ...overrides,
  });
  const component = createSerialComponent({ config, log, bus, clock: Date.now });
  const last = (topic: string) =>
    seen
      .filter((m) => m.topic === topic)
      .at(-1)
      ?.payload.toString();
  return {
    component,
    seen,
    last,
    close: async () => {
      await component.stop();
      await bus.close().catch(() => {});
      await broker.stop();
    },
  };
}

describe("serial driver start-up and reporting", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "ledge-serial-drv-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("an invalid serial.toml fails start with file:line and registers nothing", async () => {
    const d = mkdtempSync(join(dir, "bad-"));
    writeFileSync(
      join(d, "serial.toml"),
      `[[device]]\nname = "ok"\nport = "/dev/null"\nparser = "json"\n\n[[device]]\nname = "broken"\nport = "/dev/ttyX"\nparser = "nmea"\nrequire_checksum = "yes"\n`,
    );
    const h = await harness(d);
    try {
      await assert.rejects(h.component.start(), (e: Error) => {
        assert.match(
          e.message,
          /serial\.toml:10: device #2 'broken': 'require_checksum' must be true or false/,
        );
        return true;
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        h.seen.map((m) => m.topic),
        [],
        "nothing may be published when the file is invalid",
      );
    } finally {
      await h.close();
    }
  });

  it("without serial.toml the component starts with no devices", async () => {
    const h = await harness(mkdtempSync(join(dir, "none-")));
    try {
      await h.component.start();
      assert.equal(h.component.devices.length, 0);
    } finally {
      await h.close();
    }
  });

  it("a sensor absent at start: the driver starts, the device is down with an alarm, then comes up when plugged in", async () => {
    const d = mkdtempSync(join(dir, "late-"));
    const ptyDir = mkdtempSync(join(dir, "late-pty-"));
    writeFileSync(
      join(d, "serial.toml"),
      `[[device]]\nname = "late"\nport = "${join(ptyDir, "a")}"\nparser = "kv"\nmeasurement = "env"\n`,
    );
    const h = await harness(d);
    let pair: PtyPair | undefined;
    try {
      await h.component.start();
      const st = JSON.parse(h.last("te/device/late///status/health") ?? "{}");
      assert.equal(st.status, "down");
      assert.match(st.reason, /cannot open serial port/);
      assert.match(
        JSON.parse(h.last("te/device/late///a/serial_disconnected") ?? "{}").text,
        /late: cannot open/,
      );
      pair = await createPtyPair(ptyDir);
      await waitFor(
        "device up",
        () => JSON.parse(h.last("te/device/late///status/health") ?? "{}").status === "up",
      );
      await waitFor("alarm cleared", () => h.last("te/device/late///a/serial_disconnected") === "");
      await play(pair.b, [{ bytes: Buffer.from("t=1\n"), kind: "good" }]);
      await waitFor("reading", () => h.last("te/device/late///m/env"));
      assert.equal(JSON.parse(h.last("te/device/late///m/env") ?? "{}").t, 1);
      const dev = h.component.devices[0];
      assert.equal(dev?.stats.reconnects, 0, "the first successful open is not a reconnect");
    } finally {
      await h.close();
      await pair?.close();
    }
  });

  it("a partial first line is dropped; bad-line events are rate limited, every bad line is counted, serial_stats carries the counters", async () => {
    const d = mkdtempSync(join(dir, "rate-"));
    const pair = await createPtyPair(mkdtempSync(join(dir, "rate-pty-")));
    writeFileSync(
      join(d, "serial.toml"),
      `[[device]]\nname = "noisy"\nport = "${pair.a}"\nparser = "json"\n`,
    );
    const h = await harness(d, { LEDGE_SERIAL_BAD_LINE_EVENT_INTERVAL_S: "60" });
    try {
      await h.component.start();
      await play(pair.b, [
        { bytes: Buffer.from("5}\n"), kind: "ignored" }, // the tail of a line sent before the port opened
        { bytes: Buffer.from('{"v":1}\n'), kind: "good" },
        { bytes: Buffer.from("{bad}\n"), kind: "bad" },
        { bytes: Buffer.from("nope\n"), kind: "bad" },
        { bytes: Buffer.from("[]\n"), kind: "bad" },
      ]);
      const dev = h.component.devices[0];
      assert.ok(dev);
      await waitFor("3 bad lines", () => dev.stats.bad_lines === 3);
      const events = h.seen.filter((m) => m.topic === "te/device/noisy///e/serial_bad_line");
      assert.equal(events.length, 1, "one event per interval");
      assert.match(JSON.parse(events[0]?.payload.toString() ?? "{}").text, /invalid JSON/);
      await dev.publishStats();
      const stats = JSON.parse(h.last("te/device/noisy///m/serial_stats") ?? "{}");
      assert.deepEqual(
        {
          lines: stats.lines,
          bad_lines: stats.bad_lines,
          readings: stats.readings,
          reconnects: stats.reconnects,
        },
        { lines: 4, bad_lines: 3, readings: 1, reconnects: 0 },
      );
    } finally {
      await h.close();
      await pair.close();
    }
  });
});
