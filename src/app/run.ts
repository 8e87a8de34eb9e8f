import { topicFor } from "../api/topics.ts";
import type { EmbeddedBroker } from "../bus/broker.ts";
import type { Bus } from "../bus/bus.ts";
import type { Component, Context } from "../component/component.ts";
import type { Config } from "../config/store.ts";
import type { Logger } from "../foundation/logger.ts";
import { afterStart } from "./after-start.ts";
import { COMPONENTS, isRunName, RUN_NAMES, type RunName } from "./components.ts";
import { HealthReporter, healthWill, serviceTopicId } from "./health.ts";

export interface Running {
  bus: Bus;
  broker?: EmbeddedBroker;
  components: string[];
  stop(): Promise<void>;
}

/** The longest a stop waits for one component (and for its health `down`) before moving on. */
export const STOP_STEP_MS = 1500;

/** `p`, or a rejection once `ms` have passed. */
function within<T>(p: Promise<T> | undefined, ms: number, what: string): Promise<T | undefined> {
  if (!p) return Promise.resolve(undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** `ledge-<component>`: the service name under which a component reports health. */
export const serviceName = (component: string) => `ledge-${component}`;

/** Which components a `ledge run [names...]` starts: the named ones, or `run.components` plus the broker. */
export function plan(config: Config, requested: string[]): RunName[] {
  const names = requested.length ? requested : config.get("run.components");
  for (const n of names) {
    if (!isRunName(n)) throw new Error(`unknown component '${n}' (known: ${RUN_NAMES.join(", ")})`);
  }
  const list = [...new Set(names)] as RunName[];
  if (!requested.length && config.get("mqtt.broker") === "embedded" && !list.includes("broker"))
    list.unshift("broker");
  // The broker must come first: everything else needs the bus.
  return list.includes("broker") ? ["broker", ...list.filter((n) => n !== "broker")] : list;
}

/**
 * Starts components in one process. With the broker among them, every component uses the
 * in-process bus; otherwise one shared MQTT connection to the configured broker.
 */
export async function run(
  config: Config,
  requested: string[],
  log: Logger,
  clock = Date.now,
): Promise<Running> {
  const names = plan(config, requested);
  const root = config.get("mqtt.topic_root");
  let broker: EmbeddedBroker | undefined;
  let bus: Bus;
  if (names.includes("broker")) {
    if (config.get("mqtt.broker") !== "embedded")
      throw new Error("component 'broker' needs mqtt.broker = embedded");
    // Listening starts only once every component has subscribed: a client that connects earlier
    // would have its QoS 1 messages acknowledged with nobody (e.g. the bridge) there to take them.
    const [{ EmbeddedBroker }, { LocalBus }, { brokerOptions }] = await Promise.all([
      import("../bus/broker.ts"),
      import("../bus/local-bus.ts"),
      import("../bus/broker-config.ts"),
    ]);
    broker = await EmbeddedBroker.create(brokerOptions(config, log.child("broker")));
    bus = new LocalBus(broker.core, (e, topic) => log.error("message handler failed", { topic, error: e }));
  } else {
    const { MqttBus } = await import("../bus/mqtt-bus.ts");
    bus = await MqttBus.connect({
      host: config.get("mqtt.client.host"),
      port: config.get("mqtt.client.port"),
      username: config.get("mqtt.client.username"),
      password: config.get("mqtt.client.password"),
      // One stable id per component set: the broker keeps this process's session (subscriptions,
      // queued QoS 1 messages) while it is down, and hands it back when it restarts.
      clientId: `ledge-${names.join("+")}`,
      // ledge's broker and mosquitto both speak MQTT 5 (subscription identifiers, reason codes)
      protocolVersion: 5,
      persistent: true,
      log: log.child("bus"),
    });
  }
  const started: { name: string; component?: Component; health: HealthReporter; healthBus: Bus }[] = [];
  const ctx: Context = { config, log, bus, clock };
  for (const name of names) {
    const service = serviceName(name);
    const healthBus = await bus.withWill(`${service}-${process.pid}`, healthWill(root, service, clock));
    const health = new HealthReporter({
      bus: healthBus,
      service,
      root,
      clock,
      intervalS: config.get("health.interval_s"),
    });
    let component: Component | undefined;
    try {
      // The broker is already running (this function owns it); only its health is reported here.
      if (name !== "broker") {
        component = await (await COMPONENTS[name]())({ ...ctx, log: log.child(name) });
        await component.start();
      }
      await health.up();
      started.push({ name, component, health, healthBus });
      log.info("component started", { component: name });
    } catch (e) {
      // One broken component (a bad driver file, an unreachable cloud) must not take the local bus down;
      // whatever it opened before failing is released.
      log.error("component failed to start", { component: name, error: e });
      await component?.stop().catch(() => {});
      await health.down((e as Error).message).catch(() => {});
      if (healthBus !== bus) await healthBus.close().catch(() => {});
    }
  }
  let stopping: Promise<void> | undefined;
  let stopJitWatch = () => {};
  // Each step of a stop is bounded: with the broker gone, a component's last publishes and its
  // health `down` would wait for a reconnect that never comes (the will reports it down anyway).
  const stop = () =>
    (stopping ??= (async () => {
      for (const { name, component, health, healthBus } of started.reverse()) {
        await within(component?.stop(), STOP_STEP_MS, `stopping ${name}`).catch((e) =>
          log.error("component failed to stop", { component: name, error: e }),
        );
        await within(health.down(), STOP_STEP_MS, "health down").catch(() => {});
        if (healthBus !== bus) await healthBus.close().catch(() => {});
      }
      clearInterval(metricsTimer);
      stopJitWatch();
      await bus.close().catch(() => {});
      await broker?.stop();
    })());
  const metricsS = config.get("broker.metrics_interval_s");
  let metricsTimer: ReturnType<typeof setInterval> | undefined;
  if (broker && metricsS > 0) {
    const b = broker;
    const topic = topicFor(root, serviceTopicId(serviceName("broker")), "m", "broker");
    metricsTimer = setInterval(() => {
      bus.publish(topic, JSON.stringify(b.measurement())).catch(() => {});
    }, metricsS * 1000);
    metricsTimer.unref?.();
  }
  try {
    await broker?.listen();
  } catch (e) {
    await stop();
    throw new Error(
      `cannot listen on ${config.get("mqtt.bind.address")}:${config.get("mqtt.bind.port")}: ${(e as Error).message}`,
    );
  }
  const core = broker?.core;
  stopJitWatch = afterStart({
    messagesIn: core && (() => core.metrics.messagesIn),
    jitRate: config.get("run.jit_rate"),
    log,
  });
  return { bus, broker, components: started.map((s) => s.name), stop };
}
