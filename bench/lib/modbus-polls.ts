/**
 * The real `modbus` component in this process on an in-process bus, polling what `modbusToml`
 * describes for `seconds` after a 1 s warm-up: completed polls (measurements) per second and this
 * process's CPU time per poll. Shared by bench/modbus.ts and bench/recorder.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { ModbusComponent } from "../../src/drivers/modbus/component.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { deviceToml, pointToml } from "../../test/helpers/modbus-toml.ts";
import { freePort } from "../../test/helpers/ports.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measurePolls(
  modbusToml: string,
  seconds: number,
  ledgeToml = "",
): Promise<{ pollsPerS: number; cpuUsPerPoll: number }> {
  const dir = mkdtempSync(join(tmpdir(), "ledge-bench-modbus-"));
  writeFileSync(join(dir, "modbus.toml"), modbusToml);
  // the data dir (flight recorder log) stays in the temp dir
  writeFileSync(join(dir, "ledge.toml"), `[data]\npath = ${JSON.stringify(join(dir, "data"))}\n${ledgeToml}`);
  const log = createLogger({ level: "error" });
  const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: await freePort(), log });
  const bus = new LocalBus(broker.core);
  let polls = 0;
  let counting = false;
  const sub = await bus.subscribe("te/device/+///m/+", () => {
    if (counting) polls++;
  });
  const c = new ModbusComponent({ config: loadConfig(dir, {}), log, bus, clock: Date.now });
  await c.start();
  await sleep(1000);
  counting = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  counting = false;
  const cpu = process.cpuUsage(cpu0);
  const s = (performance.now() - t0) / 1000;
  await c.stop();
  await sub.unsubscribe();
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
  return { pollsPerS: polls / s, cpuUsPerPoll: (cpu.user + cpu.system) / polls };
}

/** `count` TCP devices `dev1`..., unit ids 1.., each with `regs` holding registers from 0. */
export function tcpUnitsToml(port: number, count: number, interval: number, regs = 10): string {
  return Array.from({ length: count }, (_, i) => i + 1)
    .map(
      (u) =>
        deviceToml({
          name: `dev${u}`,
          transport: "tcp",
          host: "127.0.0.1",
          port,
          unit_id: u,
          poll_interval_s: interval,
          timeout_ms: 1000,
        }) +
        Array.from({ length: regs }, (_, i) =>
          pointToml({ name: `r${i}`, table: "holding", address: i }),
        ).join(""),
    )
    .join("\n");
}
