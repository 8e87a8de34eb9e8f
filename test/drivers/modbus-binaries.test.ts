/**
 * The compiled binaries run the Modbus driver against the pymodbus slave: RTU on a socat pty pair
 * (through the serial transport of the binary's runtime: bun:ffi termios for x64/arm64, serialport
 * for the armv7 Node SEA) and TCP on loopback. arm64 and armv7 run under qemu-user (issue 5.6).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { SLAVE_REGS, type Slave, slaveAvailable, startSlave } from "../helpers/modbus-slave.ts";
import { deviceToml, pointToml } from "../helpers/modbus-toml.ts";
import { canConnect, freePort, waitFor } from "../helpers/ports.ts";
import {
  cleanEnv,
  ensureBuilt,
  startBinary,
  target,
  tempConfigDir,
  unavailable,
} from "../helpers/targets-bin.ts";

for (const name of ["linux-x64", "linux-arm64", "linux-armv7"]) {
  const t = target(name);
  const skip = slaveAvailable() ?? unavailable(t);

  describe(`modbus in the ${name} binary${t.emulation ? " under qemu" : ""}`, { skip }, () => {
    test("RTU on a pty pair and TCP on loopback become measurements", { timeout: 90_000 }, async () => {
      ensureBuilt([name]);
      const slave: Slave = await startSlave({ rtu: true, tcp: true, units: [1, 2] });
      const p = await freePort();
      const c = tempConfigDir(p);
      writeFileSync(
        join(c.dir, "modbus.toml"),
        [
          deviceToml({
            name: "rtu1",
            transport: "rtu",
            serial_port: slave.rtuPath,
            baud: 19200,
            unit_id: 1,
            poll_interval_s: 0.5,
          }),
          pointToml({ name: "v", table: "holding", address: 0 }),
          pointToml({ name: "f", table: "holding", address: 4, type: "float32" }),
          "\n",
          deviceToml({
            name: "tcp2",
            transport: "tcp",
            host: "127.0.0.1",
            port: slave.tcpPort,
            unit_id: 2,
            poll_interval_s: 0.5,
          }),
          pointToml({ name: "v", table: "holding", address: 0 }),
        ].join(""),
      );
      const d = startBinary(t, ["--config-dir", c.dir, "run", "broker", "modbus"], cleanEnv({ HOME: c.dir }));
      let client: MqttClient | undefined;
      try {
        await waitFor(`the broker of ${name} on port ${p}`, () => canConnect(p), 45_000, 100);
        client = await mqtt.connectAsync({ host: "127.0.0.1", port: p, reconnectPeriod: 0 });
        const got = new Map<string, Record<string, number>>();
        client.on("message", (topic, m) => got.set(topic, JSON.parse(m.toString())));
        await client.subscribeAsync(["te/device/rtu1///m/modbus", "te/device/tcp2///m/modbus"]);
        await waitFor(
          `measurements from both devices (output: ${d.output().slice(-500)})`,
          () => got.size === 2,
          45_000,
          100,
        );
        const rtu = got.get("te/device/rtu1///m/modbus")!;
        assert.equal(rtu.v, SLAVE_REGS.uint16At0(1));
        assert.equal(rtu.f, SLAVE_REGS.float32At4);
        assert.equal(got.get("te/device/tcp2///m/modbus")!.v, SLAVE_REGS.uint16At0(2));
      } finally {
        await client?.endAsync();
        await d.stop();
        await slave.stop();
        c.cleanup();
      }
    });
  });
}
