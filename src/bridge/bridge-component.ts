import { join } from "node:path";
import type { Component, Context } from "../component/component.ts";
import type { Config } from "../config/store.ts";
import { CloudLink } from "./cloud-link.ts";
import { foldMeasurements } from "./compact.ts";
import { isMeasurement } from "./kinds.ts";
import { type AlarmKind, alarmMessage, isBridgeReport, metricsPayload, metricsTopic } from "./metrics.ts";
import { DiskQueue, type FsyncPolicy } from "./queue/disk-queue.ts";
import { MemoryQueue } from "./queue/memory-queue.ts";
import type { Foldable, FoldResult, MessageQueue } from "./queue/types.ts";
import { CLOUDS, type CloudName } from "./routes.ts";
import { enableKey, linkSettings } from "./settings.ts";

/**
 * The queue of one cloud's link. CBOR batch frames are folded too when the plain MQTT cloud gets
 * them (`mqtt.batch.enable`); only then is the batch codec (cbor-x) loaded.
 */
export async function openQueue(
  config: Config,
  cloud: CloudName,
  ctx: Pick<Context, "log">,
): Promise<MessageQueue> {
  const maxBytes = config.get("bridge.queue.max_bytes");
  const interval = config.get("bridge.queue.compact_interval_s") * 1000;
  const frames =
    interval > 0 && cloud === "mqtt" && config.get("mqtt.batch.enable")
      ? (await import("./compact-frames.ts")).foldFrames
      : undefined;
  const compact =
    interval > 0
      ? (recs: Foldable[]): FoldResult => {
          const f = frames?.(recs, interval, config.get("mqtt.batch.max_bytes"));
          const j = foldMeasurements(f?.out ?? recs, interval);
          return { out: j.out, folded: j.folded + (f?.folded ?? 0) };
        }
      : undefined;
  const limits = { maxBytes, compact, expendable: isMeasurement };
  if (config.get("bridge.queue.store") === "memory") return new MemoryQueue(limits);
  return DiskQueue.open({
    ...limits,
    dir: join(config.dataDir, "bridge", cloud),
    fsync: config.get("bridge.queue.fsync") as FsyncPolicy,
    fsyncIntervalMs: config.get("bridge.queue.fsync_interval_ms"),
    log: ctx.log.child("queue"),
  });
}

/** Clouds whose bridge link is switched on (`bridge.<cloud>.enable`). */
export const enabledClouds = (config: Config): CloudName[] =>
  CLOUDS.filter((c) => config.get(enableKey(c)) === true);

/**
 * The `bridge` component: one link per enabled cloud, and the bridge's own measurements. A cloud
 * that is misconfigured is reported and skipped; the others still run.
 */
export function createBridgeComponent(ctx: Context): Component {
  const log = ctx.log;
  const config = ctx.config;
  const links: CloudLink[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  let alarmTimer: ReturnType<typeof setInterval> | undefined;
  /** The alarm payload last published per topic ("" = cleared); unknown ones are published once. */
  const alarms = new Map<string, string>();
  const root = config.get("mqtt.topic_root");

  const publishAlarms = () => {
    for (const link of links)
      for (const kind of ["stalled", "disk"] as AlarmKind[]) {
        const a = alarmMessage(root, link.name, kind, link.conditions());
        if (alarms.get(a.topic) === a.payload) continue;
        alarms.set(a.topic, a.payload);
        ctx.bus
          .publish(a.topic, a.payload, { qos: 1, retain: true })
          .catch((e: unknown) => log.debug("cannot publish bridge alarm", { error: e }));
      }
  };

  const publishMetrics = () => {
    if (!links.length) return;
    const payload = metricsPayload(
      links.map((l) => ({ name: l.name, metrics: l.metrics() })),
      ctx.clock(),
    );
    ctx.bus
      .publish(metricsTopic(root), payload)
      .catch((e: unknown) => log.debug("cannot publish bridge metrics", { error: e }));
  };

  return {
    name: "bridge",
    async start() {
      const clouds = enabledClouds(config);
      if (!clouds.length) log.warn("no cloud enabled (bridge.<cloud>.enable); run 'ledge connect <cloud>'");
      const failures: string[] = [];
      const skip = (cloud: CloudName, e: unknown) => {
        failures.push(`${cloud}: ${(e as Error).message}`);
        log.error(`${cloud} link not started: ${(e as Error).message}`);
      };
      for (const cloud of clouds) {
        let link: CloudLink;
        try {
          const settings = linkSettings(config, cloud);
          link = new CloudLink({
            settings,
            queue: await openQueue(config, cloud, { log }),
            bus: ctx.bus,
            log: log.child(cloud),
            clock: ctx.clock,
            drainRate: config.get("bridge.drain_rate"),
            inflight: config.get("bridge.inflight"),
            backoffMinMs: config.get("bridge.backoff_min_ms"),
            backoffMaxMs: Math.max(config.get("bridge.backoff_min_ms"), config.get("bridge.backoff_max_ms")),
            keepaliveS: config.get("bridge.keepalive_s"),
            ackTimeoutMs: config.get("bridge.ack_timeout_s") * 1000,
            stallMs: config.get("bridge.stall_s") * 1000,
            isPriority: isBridgeReport,
          });
        } catch (e) {
          skip(cloud, e);
          continue;
        }
        try {
          await link.start();
        } catch (e) {
          // Its queue (a lock on the queue directory) and any subscription go with it.
          await link.stop().catch(() => {});
          skip(cloud, e);
          continue;
        }
        links.push(link);
      }
      // Nothing could start: fail, so the component's health says why.
      if (clouds.length && !links.length) throw new Error(failures.join("; "));
      publishAlarms();
      alarmTimer = setInterval(publishAlarms, 1000);
      alarmTimer.unref?.();
      const every = config.get("bridge.metrics_interval_s");
      if (every > 0) {
        timer = setInterval(publishMetrics, every * 1000);
        timer.unref?.();
      }
    },
    async stop() {
      if (timer) clearInterval(timer);
      clearInterval(alarmTimer);
      timer = undefined;
      await Promise.all(links.map((l) => l.stop()));
      links.length = 0;
    },
  };
}
