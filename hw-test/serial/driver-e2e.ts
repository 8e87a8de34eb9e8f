/**
 * End-to-end check of the serial sensor driver as `ledge run broker serial` runs it: one emulated
 * sensor per parser on its own socat pty pair, a plain MQTT client watching `te/#` on the embedded
 * broker, the emulator's scripted faults (corrupt lines, bad NMEA checksums, garbage bytes), then one
 * sensor unplugged and plugged back. Runs under Node (test/drivers/serial-driver.test.ts calls it)
 * and under Bun (`bun hw-test/serial/driver-e2e.ts` prints one JSON line per check).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { run } from "../../src/app/run.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { createPtyPair, type PtyPair } from "./pty-pair.ts";
import { expected, FORMAT_PARSER, FORMATS, type Format, play, scenario } from "./sensor-emulator.ts";

/** The per-format check: good frames are readings (read or device time), faults are counted. */
export const E2E_FORMAT_CHECK = "good lines become measurements with the read time, faults are counted";

export interface CheckResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const p = typeof a === "object" && a ? a.port : 0;
      s.close(() => res(p));
    });
  });
}

function deviceToml(format: Format, port: string): string {
  const extra = format === "regex" ? `units = { temperature = "°C", humidity = "%RH" }\n` : "";
  return `[[device]]\nname = "sensor-${format}"\ntype = "Emulated${format}"\nport = "${port}"\nbaud = 9600\n${FORMAT_PARSER[format]}\nmeasurement = "${format}_data"\nmax_line = 1024\n${extra}\n`;
}

/** Runs every check in order (later ones build on earlier ones) and returns the results. */
export async function driverE2E(): Promise<CheckResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "ledge-serial-e2e-"));
  const pairs = new Map<Format, PtyPair>();
  const results: CheckResult[] = [];
  const log = createLogger({ level: process.env.LEDGE_TEST_LOG === "1" ? "trace" : "error" });
  let running: Awaited<ReturnType<typeof run>> | undefined;
  let client: mqtt.MqttClient | undefined;
  const messages: { topic: string; payload: string; retain: boolean }[] = [];
  const last = (topic: string) => messages.filter((m) => m.topic === topic).at(-1)?.payload;
  const all = (topic: string) => messages.filter((m) => m.topic === topic).map((m) => m.payload);
  const check = async (name: string, fn: () => Promise<void>) => {
    const t0 = Date.now();
    try {
      await fn();
      results.push({ name, ok: true, ms: Date.now() - t0 });
    } catch (e) {
      results.push({ name, ok: false, error: String((e as Error).stack ?? e), ms: Date.now() - t0 });
    }
  };
  try {
    for (const f of FORMATS) pairs.set(f, await createPtyPair(mkdtempSync(join(dir, `pty-${f}-`))));
    writeFileSync(
      join(dir, "serial.toml"),
      FORMATS.map((f) => deviceToml(f, pairs.get(f)?.a ?? "")).join("\n"),
    );
    const port = await freePort();
    const config = loadConfig(dir, {
      LEDGE_MQTT_BIND_PORT: String(port),
      LEDGE_SERIAL_RECONNECT_MIN_MS: "50",
      LEDGE_SERIAL_RECONNECT_MAX_MS: "200",
      LEDGE_SERIAL_STATS_INTERVAL_S: "0",
      LEDGE_SERIAL_BAD_LINE_EVENT_INTERVAL_S: "0",
    });
    running = await run(config, ["broker", "serial"], log);
    const c = await mqtt.connectAsync({ host: "127.0.0.1", port, clientId: `e2e-${process.pid}` });
    client = c;
    c.on("message", (topic, payload, packet) =>
      messages.push({ topic, payload: payload.toString(), retain: packet.retain }),
    );
    await c.subscribeAsync("te/#", { qos: 1 });

    await check("the serial component reports health up as service ledge-serial", async () => {
      const h = await until("ledge-serial health", () =>
        last("te/device/main/service/ledge-serial/status/health"),
      );
      assert.equal(JSON.parse(h).status, "up");
    });

    await check("every sensor is registered as a child device and is up", async () => {
      for (const f of FORMATS) {
        const reg = await until(`registration of sensor-${f}`, () => last(`te/device/sensor-${f}//`));
        assert.deepEqual(JSON.parse(reg), {
          "@type": "child-device",
          "@parent": "device/main//",
          name: `sensor-${f}`,
          type: `Emulated${f}`,
        });
        const st = await until(`sensor-${f} up`, () => last(`te/device/sensor-${f}///status/health`));
        assert.equal(JSON.parse(st).status, "up");
      }
    });

    await check("units are published on the retained meta topic", async () => {
      const meta = await until("meta", () => last("te/device/sensor-regex///m/regex_data/meta"));
      assert.deepEqual(JSON.parse(meta), { temperature: { unit: "°C" }, humidity: { unit: "%RH" } });
    });

    for (const f of FORMATS) {
      await check(`${f}: ${E2E_FORMAT_CHECK}`, async () => {
        const steps = scenario(f);
        const want = expected(steps);
        const topic = `te/device/sensor-${f}///m/${f}_data`;
        const before = Date.now();
        await play(pairs.get(f)?.b ?? "", steps);
        const got = await until(`${want.good} readings on ${topic}`, () => {
          const m = all(topic);
          return m.length >= want.good ? m : undefined;
        }).catch((e: Error) => {
          const seen = [...new Set(messages.map((m) => m.topic))].join(" ");
          throw new Error(`${e.message}; got ${all(topic).length}; topics seen: ${seen}`);
        });
        const after = Date.now();
        const goods = steps.filter((s) => s.kind === "good");
        const parsed = got.map((p) => JSON.parse(p) as Record<string, unknown>);
        for (const [i, p] of parsed.entries()) {
          const deviceTime = goods[i]?.time;
          if (deviceTime) assert.equal(p.time, deviceTime, "the device's own time");
          else {
            const t = Date.parse(String(p.time));
            assert.ok(t >= before - 5 && t <= after + 5, `time ${p.time} is the read time`);
          }
          const { time: _t, ...values } = p;
          assert.deepEqual(values, goods[i]?.values);
        }
        const events = await until(`${want.bad} bad-line events`, () => {
          const e = all(`te/device/sensor-${f}///e/serial_bad_line`);
          return e.length >= want.bad ? e : undefined;
        });
        assert.equal(events.length, want.bad);
        const lastEvent = JSON.parse(events.at(-1) ?? "{}");
        assert.equal(lastEvent.bad_lines, want.bad);
        assert.match(lastEvent.text, /^bad line from /);
        assert.equal(all(topic).length, want.good, "no extra measurements");
      });
    }

    await check(
      "unplugged: status down and an alarm; plugged back: up, alarm cleared, readings again",
      async () => {
        const pair = pairs.get("nmea");
        assert.ok(pair);
        const base = "te/device/sensor-nmea//";
        await pair.stop();
        const down = await until("status down", () => {
          const s = last(`${base}/status/health`);
          return s && JSON.parse(s).status === "down" ? s : undefined;
        });
        assert.match(JSON.parse(down).reason, /^serial port \S+ lost: /);
        const alarm = await until("alarm raised", () => last(`${base}/a/serial_disconnected`) || undefined);
        assert.equal(JSON.parse(alarm).severity, "major");
        const retained = messages.filter((m) => m.topic === `${base}/a/serial_disconnected`);
        assert.ok(retained.length >= 1);
        await sleep(300); // a few failed reopen attempts while the device is away
        await pair.start();
        await until("status up again", () => {
          const s = last(`${base}/status/health`);
          return s && JSON.parse(s).status === "up" ? s : undefined;
        });
        await until("alarm cleared", () => (last(`${base}/a/serial_disconnected`) === "" ? true : undefined));
        const topic = `${base}/m/nmea_data`;
        const n = all(topic).length;
        await play(pair.b, scenario("nmea").slice(0, 1));
        await until("a reading after replug", () => (all(topic).length > n ? true : undefined));
      },
    );

    await check("the component stops cleanly and reports health down", async () => {
      const r = running;
      running = undefined;
      await r?.stop();
      const h = await until("ledge-serial down", () => {
        const s = last("te/device/main/service/ledge-serial/status/health");
        return s && JSON.parse(s).status === "down" ? s : undefined;
      }).catch(() => undefined);
      // the observer may lose the broker before the last message: then the stop itself is the check
      if (h) assert.equal(JSON.parse(h).status, "down");
    });
  } finally {
    await client?.endAsync(true).catch(() => {});
    await running?.stop().catch(() => {});
    for (const p of pairs.values()) await p.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  driverE2E().then(
    (results) => {
      for (const r of results)
        console.log(JSON.stringify({ ...r, runtime: process.versions.bun ? "bun" : "node" }));
      const failed = results.filter((r) => !r.ok).length;
      console.log(JSON.stringify({ done: true, passed: results.length - failed, failed }));
      process.exit(failed ? 1 : 0);
    },
    (e: Error) => {
      console.log(JSON.stringify({ done: true, fatal: String(e.stack ?? e) }));
      process.exit(1);
    },
  );
}
