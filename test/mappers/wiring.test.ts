import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeFrame } from "../../src/batch/index.ts";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import type { BusMessage } from "../../src/bus/bus.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { createMqttMapperComponent } from "../../src/mappers/mqtt/component.ts";
import { waitFor } from "../helpers/ports.ts";

describe("mapper wiring", () => {
  it("a retained measurement delivered while the mapper subscribes still leaves in a frame by age", async () => {
    const log = createLogger({ level: "error" });
    const dir = mkdtempSync(join(tmpdir(), "ledge-wiring-"));
    const broker = await EmbeddedBroker.create({ host: "127.0.0.1", port: 0, log });
    const bus = new LocalBus(broker.core);
    try {
      await bus.publish("te/device/main///m/env", '{"temp":21.5}', { retain: true, qos: 1 });
      const frames: BusMessage[] = [];
      await bus.subscribe("ledge/test-device/batch", (m) => frames.push(m));
      const config = loadConfig(dir, {}).with({
        "device.id": "test-device",
        "mqtt.batch.enable": true,
        "mqtt.batch.max_age_ms": 50,
      });
      const mapper = await createMqttMapperComponent({ config, log, bus, clock: Date.now });
      await mapper.start();
      const f = await waitFor("the frame, by age", () => frames[0], 2000);
      assert.deepEqual(
        decodeFrame(f.payload).map((r) => [r.entity, r.series, r.value]),
        [["device/main//", "temp", 21.5]],
      );
      await mapper.stop();
    } finally {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
