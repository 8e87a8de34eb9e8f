import type { Command } from "commander";
import { filterError, topicError } from "../../bus/topic-filter.ts";
import type { Config } from "../../config/store.ts";
import { configOf, positiveNumber, UsageError } from "../context.ts";

function parseQos(text: string): 0 | 1 | 2 {
  if (text !== "0" && text !== "1" && text !== "2")
    throw new UsageError(`--qos must be 0, 1 or 2, got '${text}'`);
  return Number(text) as 0 | 1 | 2;
}

async function connect(config: Config) {
  // mqtt.js (with ws, socks, ...) is loaded only by the commands that talk MQTT.
  const { default: mqtt } = await import("mqtt");
  const host = config.get("mqtt.client.host");
  const port = config.get("mqtt.client.port");
  const client = mqtt.connect({
    host,
    port,
    username: config.get("mqtt.client.username") || undefined,
    password: config.get("mqtt.client.password") || undefined,
    clientId: `ledge-cli-${process.pid}`,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", (e) =>
      reject(new UsageError(`cannot connect to the MQTT broker at ${host}:${port}: ${e.message}`)),
    );
    client.once("close", () =>
      reject(new UsageError(`cannot connect to the MQTT broker at ${host}:${port}`)),
    );
  });
  return client;
}

export function registerMqtt(program: Command): void {
  const mqttCmd = program
    .command("mqtt")
    .description("publish and subscribe on the local bus, like `tedge mqtt`");

  mqttCmd
    .command("pub")
    .description("publish one message")
    .argument("<topic>", "topic (no wildcards)")
    .argument("<payload>", "payload (use '' for an empty retained message that clears)")
    .option("-q, --qos <n>", "quality of service 0, 1 or 2", parseQos, 0)
    .option("-r, --retain", "retain the message", false)
    .action(
      async (topic: string, payload: string, opts: { qos: 0 | 1 | 2; retain: boolean }, cmd: Command) => {
        const err = topicError(topic);
        if (err) throw new UsageError(`cannot publish: ${err}`);
        const client = await connect(configOf(cmd));
        try {
          await client.publishAsync(topic, payload, { qos: opts.qos, retain: opts.retain });
        } finally {
          await client.endAsync();
        }
      },
    );

  mqttCmd
    .command("sub")
    .description("print messages as `[topic] payload` until interrupted")
    .argument("<topics...>", "topic filters (wildcards + and # allowed)")
    .option("-q, --qos <n>", "quality of service 0, 1 or 2", parseQos, 0)
    .option("-n, --count <n>", "exit after this many messages", positiveNumber("--count"))
    .option("-d, --duration <s>", "exit after this many seconds", positiveNumber("--duration"))
    .option("--no-topic", "print only the payload")
    .action(
      async (
        topics: string[],
        opts: { qos: 0 | 1 | 2; count?: number; duration?: number; topic: boolean },
        cmd: Command,
      ) => {
        for (const t of topics) {
          const err = filterError(t);
          if (err) throw new UsageError(`cannot subscribe: ${err}`);
        }
        const client = await connect(configOf(cmd));
        let seen = 0;
        let finished = false;
        await new Promise<void>((resolve) => {
          const done = () => {
            finished = true;
            resolve();
          };
          client.on("message", (topic, payload) => {
            process.stdout.write(
              opts.topic ? `[${topic}] ${payload.toString()}\n` : `${payload.toString()}\n`,
            );
            if (opts.count !== undefined && ++seen >= opts.count) done();
          });
          if (opts.duration !== undefined) setTimeout(done, opts.duration * 1000).unref();
          process.once("SIGINT", done);
          process.once("SIGTERM", done);
          // reconnectPeriod is 0: without this a lost broker ends the process with status 0, as if done
          client.once("close", () => {
            if (finished) return;
            process.stderr.write("ledge: lost the connection to the MQTT broker\n");
            process.exitCode = 1;
            done();
          });
          client.subscribe(topics, { qos: opts.qos }, (e) => {
            if (e) {
              process.stderr.write(`ledge: subscribe failed: ${e.message}\n`);
              process.exitCode = 1;
              done();
            }
          });
        });
        await client.endAsync();
      },
    );
}
