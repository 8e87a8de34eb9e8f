import type { Command } from "commander";
import type { ClientEvents, MqttClient } from "../../bus/client/client.ts";
import { filterError, topicError } from "../../bus/topic-filter.ts";
import type { Config } from "../../config/store.ts";
import { configOf, positiveNumber, UsageError } from "../context.ts";

function parseQos(text: string): 0 | 1 | 2 {
  if (text !== "0" && text !== "1" && text !== "2")
    throw new UsageError(`--qos must be 0, 1 or 2, got '${text}'`);
  return Number(text) as 0 | 1 | 2;
}

/** ledge's own client, one connection, no reconnect: a CLI command reports a lost broker and ends. */
async function connect(config: Config, events: ClientEvents = {}): Promise<MqttClient> {
  const { MqttClient } = await import("../../bus/client/client.ts");
  const host = config.get("mqtt.client.host");
  const port = config.get("mqtt.client.port");
  const client = new MqttClient(
    {
      host,
      port,
      username: config.get("mqtt.client.username") || undefined,
      password: config.get("mqtt.client.password") || undefined,
      clientId: `ledge-cli-${process.pid}`,
      protocolVersion: 5,
      reconnect: false,
      connectTimeoutMs: 5000,
      ackTimeoutMs: 10_000,
    },
    events,
  );
  try {
    await client.start();
  } catch (e) {
    throw new UsageError(`cannot connect to the MQTT broker at ${host}:${port}: ${(e as Error).message}`);
  }
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
          await client.publish(topic, Buffer.from(payload), { qos: opts.qos, retain: opts.retain });
        } finally {
          await client.end();
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
        let seen = 0;
        let finished = false;
        let done = () => {};
        const over = new Promise<void>((resolve) => {
          done = () => {
            finished = true;
            resolve();
          };
        });
        const client = await connect(configOf(cmd), {
          onMessage: (p) => {
            if (finished) return;
            const text = Buffer.from(p.payload).toString();
            process.stdout.write(opts.topic ? `[${p.topic}] ${text}\n` : `${text}\n`);
            if (opts.count !== undefined && ++seen >= opts.count) done();
          },
          // no reconnect: without this a lost broker would end the process with status 0, as if done
          onOffline: () => {
            if (finished) return;
            process.stderr.write("ledge: lost the connection to the MQTT broker\n");
            process.exitCode = 1;
            done();
          },
        });
        if (opts.duration !== undefined) setTimeout(done, opts.duration * 1000).unref();
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
        client.subscribe(topics.map((filter) => ({ filter, qos: opts.qos }))).then(
          (codes) => {
            const refused = codes.findIndex((c) => c >= 0x80);
            if (refused < 0) return;
            process.stderr.write(
              `ledge: subscribe to '${topics[refused]}' refused (code 0x${codes[refused]?.toString(16)})\n`,
            );
            process.exitCode = 1;
            done();
          },
          (e: Error) => {
            if (finished) return;
            process.stderr.write(`ledge: subscribe failed: ${e.message}\n`);
            process.exitCode = 1;
            done();
          },
        );
        await over;
        await client.end();
      },
    );
}
