/**
 * Runs the agent component alone in its own process against an MQTT broker, so tests can kill it
 * with SIGKILL mid-operation. Usage: agent-process.ts <config-dir> <broker-port>
 */
import { AgentComponent } from "../../src/agent/agent-component.ts";
import { MqttBus } from "../../src/bus/mqtt-bus.ts";
import { loadConfig } from "../../src/config/store.ts";
import { createLogger } from "../../src/foundation/logger.ts";

const [dir, port] = process.argv.slice(2);
const log = createLogger({ level: "warn" });
const config = loadConfig(dir!, {});
const bus = await MqttBus.connect({
  host: "127.0.0.1",
  port: Number(port),
  clientId: `agent-proc-${process.pid}`,
  protocolVersion: 5,
  log,
});
const agent = new AgentComponent({ config, log, bus, clock: Date.now });
await agent.start();
process.stdout.write("started\n");
process.on("SIGTERM", () => {
  void agent
    .stop()
    .then(() => bus.close())
    .then(() => process.exit(0));
});
