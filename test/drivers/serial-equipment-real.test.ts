/**
 * The equipment feeds of issue 15 (proprietary NMEA, GPS-timed fixes, multi-line JSON, SDS011 and
 * VE.Direct frames, good and bad checksums) over two real serial adapters wired together: the
 * emulator writes each script on LEDGE_TEST_SERIAL_PEER at LEDGE_TEST_SERIAL_BAUD (9600), the
 * serial component reads LEDGE_TEST_SERIAL_PORT. On emulated ptys the same scripts run in
 * serial-driver.test.ts (driver-e2e, Node and Bun); see hw-test/README.md.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { expected, FORMAT_PARSER, type Format, scenario } from "../../hw-test/serial/sensor-emulator.ts";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import type { BusMessage } from "../../src/bus/bus.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { openSerial } from "../../src/drivers/common/serial/open.ts";
import { createSerialComponent } from "../../src/drivers/serial/component.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { waitFor } from "../helpers/ports.ts";

const PORT = process.env.LEDGE_TEST_SERIAL_PORT;
const PEER = process.env.LEDGE_TEST_SERIAL_PEER;
const BAUD = Number(process.env.LEDGE_TEST_SERIAL_BAUD ?? 9600);
const FORMATS: Format[] = ["nmea-proprietary", "nmea-gps-time", "json-multiline", "sds011", "vedirect"];
const log = createLogger({ level: "error" });

describe("issue 15 feeds over real serial adapters", {
  skip: !(PORT && PEER) && "LEDGE_TEST_SERIAL_PORT/PEER not set",
}, () => {
  for (const format of FORMATS)
    it(`${format}: readings as scripted, bad frames counted`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "ledge-serial-real-"));
      writeFileSync(
        join(dir, "serial.toml"),
        `[[device]]\nname = "eq"\nport = "${PORT}"\nbaud = ${BAUD}\n${FORMAT_PARSER[format]}\nmeasurement = "m"\n`,
      );
      const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: 0, log });
      const bus = new LocalBus(broker.core);
      const seen: BusMessage[] = [];
      await bus.subscribe("te/#", (m) => seen.push(m));
      const config = loadConfig(dir, {
        LEDGE_SERIAL_STATS_INTERVAL_S: "0",
        LEDGE_SERIAL_BAD_LINE_EVENT_INTERVAL_S: "0",
      });
      const component = createSerialComponent({ config, log, bus, clock: Date.now });
      const peer = await openSerial({ path: PEER ?? "", baudRate: BAUD });
      try {
        await component.start();
        const steps = scenario(format);
        const want = expected(steps);
        for (const s of steps) {
          await peer.write(s.bytes);
          // at least the time the bytes take on the wire, so frames arrive as sent
          await new Promise((r) => setTimeout(r, 20 + (s.bytes.length * 10_000) / BAUD));
        }
        const readings = () =>
          seen.filter((m) => m.topic === "te/device/eq///m/m").map((m) => JSON.parse(m.payload.toString()));
        await waitFor(
          `${want.good} readings`,
          () => (readings().length >= want.good ? true : undefined),
          10_000,
        );
        const dev = component.devices[0];
        await waitFor(
          `${want.bad} bad frames`,
          () => (dev?.stats.bad_lines === want.bad ? true : undefined),
          10_000,
        );
        const goods = steps.filter((s) => s.kind === "good");
        for (const [i, r] of readings().entries()) {
          const { time, ...values } = r;
          assert.deepEqual(values, goods[i]?.values);
          if (goods[i]?.time) assert.equal(time, goods[i]?.time);
        }
      } finally {
        await peer.close();
        await component.stop();
        await bus.close().catch(() => {});
        await broker.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
