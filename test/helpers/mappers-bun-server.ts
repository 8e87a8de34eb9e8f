/**
 * Run by Bun from test/mappers/bun-burst.test.ts and c8y-http-bun.test.ts: the embedded broker
 * with the c8y mapper on the in-process bus, as the x64/arm64 binaries run it; config values (JSON)
 * may come as the first argument. Prints `ready <port>` once listening.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedBroker } from "../../src/bus/broker.ts";
import { LocalBus } from "../../src/bus/local-bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";
import { createC8yMapperComponent } from "../../src/mappers/c8y/component.ts";

const log = createLogger({ level: "error" });
const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: 0, log });
const bus = new LocalBus(broker.core, (e) => log.error("handler failed", { error: e }));
const config = loadConfig(mkdtempSync(join(tmpdir(), "ledge-bun-")), {}).with({
  "device.id": "test-device",
  ...JSON.parse(process.argv[2] ?? "{}"),
});
const mapper = createC8yMapperComponent({ config, log, bus, clock: Date.now });
await mapper.start();
process.stdout.write(`ready ${broker.port}\n`);
process.on("SIGTERM", () => {
  void mapper.stop().then(() => broker.stop().then(() => process.exit(0)));
});
