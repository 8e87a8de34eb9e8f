import type { Command } from "commander";
import { runUntilSignal } from "./run.ts";

export function registerBroker(program: Command): void {
  program
    .command("broker")
    .description("run the embedded MQTT broker alone (mqtt.bind.address:mqtt.bind.port)")
    .action(async (_opts, cmd: Command) => {
      await runUntilSignal(cmd, ["broker"]);
    });
}
