/**
 * The serial sensor driver in every compiled binary (issue 5.6): x64 and arm64 are Bun executables
 * (termios through bun:ffi), armv7 a Node SEA (serialport's embedded addon); arm64 and armv7 run
 * under qemu-user. An NMEA sensor on a socat pty pair must become measurements, and unplugging and
 * replugging it must drive the device's status and alarm down and back up.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { createPtyPair } from "../../hw-test/serial/pty-pair.ts";
import { play } from "../../hw-test/serial/sensor-emulator.ts";
import { canConnect, freePort, waitFor } from "../helpers/ports.ts";
import {
  cleanEnv,
  ensureBuilt,
  startBinary,
  target,
  tempConfigDir,
  unavailable,
} from "../helpers/targets-bin.ts";

const GGA = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n";

for (const name of ["linux-x64", "linux-arm64", "linux-armv7"]) {
  const t = target(name);
  const skip = unavailable(t);

  describe(`serial sensors in the ${name} binary${t.emulation ? " under qemu" : ""}`, { skip }, () => {
    test("NMEA lines become measurements; unplug and replug drive status and alarm", {
      timeout: 120_000,
    }, async () => {
      ensureBuilt([name]);
      const p = await freePort();
      const c = tempConfigDir(p);
      mkdirSync(join(c.dir, "pty"));
      const pair = await createPtyPair(join(c.dir, "pty"));
      writeFileSync(
        join(c.dir, "serial.toml"),
        `[[device]]\nname = "gps"\nport = ${JSON.stringify(pair.a)}\nbaud = 4800\nparser = "nmea"\nmeasurement = "gps"\n`,
      );
      writeFileSync(
        join(c.dir, "ledge.toml"),
        "\n[serial]\nreconnect_min_ms = 100\nreconnect_max_ms = 400\n",
        {
          flag: "a",
        },
      );
      const d = startBinary(t, ["--config-dir", c.dir, "run", "broker", "serial"], cleanEnv({ HOME: c.dir }));
      let client: MqttClient | undefined;
      const last = new Map<string, string>();
      let readings = 0;
      const status = () =>
        JSON.parse(last.get("te/device/gps///status/health") || "{}").status as string | undefined;
      try {
        await waitFor(`the broker of ${name} on port ${p}`, () => canConnect(p), 60_000, 100);
        const cl = await mqtt.connectAsync({ host: "127.0.0.1", port: p, reconnectPeriod: 0 });
        client = cl;
        cl.on("message", (topic, m) => {
          last.set(topic, m.toString());
          if (topic === "te/device/gps///m/gps") readings++;
        });
        await cl.subscribeAsync("te/device/gps/#", { qos: 1 });
        await waitFor(`gps up (output: ${d.output().slice(-500)})`, () => status() === "up", 60_000, 100);
        // keep the sensor talking until the first reading arrives
        await waitFor(
          `a reading (output: ${d.output().slice(-500)})`,
          async () => {
            await play(pair.b, [{ bytes: Buffer.from(GGA), kind: "good" }], 0);
            return readings > 0;
          },
          30_000,
          300,
        );
        const m = JSON.parse(last.get("te/device/gps///m/gps") ?? "{}");
        assert.deepEqual(m.position, { latitude: 48.1173, longitude: 11.5166667, altitude: 545.4 });
        assert.equal(m.satellites, 8);

        await pair.stop();
        await waitFor(`gps down (output: ${d.output().slice(-500)})`, () => status() === "down", 30_000, 100);
        // The alarm is its own message: it may land just after the status.
        const alarm = await waitFor(
          "the disconnect alarm",
          () => last.get("te/device/gps///a/serial_disconnected") || undefined,
          30_000,
          100,
        );
        assert.equal(JSON.parse(alarm).severity, "major");
        await pair.start();
        await waitFor(
          `gps up again (output: ${d.output().slice(-500)})`,
          () => status() === "up",
          30_000,
          100,
        );
        await waitFor(
          "alarm cleared",
          () => last.get("te/device/gps///a/serial_disconnected") === "",
          10_000,
          50,
        );
        const before = readings;
        await waitFor(
          "a reading after replug",
          async () => {
            await play(pair.b, [{ bytes: Buffer.from(GGA), kind: "good" }], 0);
            return readings > before;
          },
          30_000,
          300,
        );
      } finally {
        await client?.endAsync();
        await d.stop();
        await pair.close();
        c.cleanup();
      }
    });
  });
}
