import { MAIN_DEVICE, topicFor } from "../api/topics.ts";
import type { Bus, Subscription } from "../bus/bus.ts";

export interface HealthOptions {
  /** Bus whose connection carries this service's last will (see Bus.withWill). */
  bus: Bus;
  service: string;
  root: string;
  clock: () => number;
  /** Seconds between refreshed `up` messages; 0 publishes only on start and on request. */
  intervalS?: number;
}

export function serviceTopicId(service: string, device = "main"): string {
  return `device/${device}/service/${service}`;
}

export function healthTopic(root: string, service: string): string {
  return topicFor(root, serviceTopicId(service), "status", "health");
}

export function healthPayload(
  status: "up" | "down",
  clock: () => number,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({ status, pid: process.pid, time: Math.floor(clock() / 1000), ...extra });
}

/** The last will a service's connection should carry: retained QoS 1 `down`. */
export function healthWill(root: string, service: string, clock: () => number) {
  return {
    topic: healthTopic(root, service),
    payload: healthPayload("down", clock),
    retain: true,
    qos: 1 as const,
  };
}

/**
 * A ledge service's registration and health: retained `up` on start, `down` on stop (or the MQTT
 * last will when the process dies), and a fresh status whenever `.../cmd/health/check` asks.
 */
export class HealthReporter {
  private sub?: Subscription;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: HealthOptions) {}

  async up(): Promise<void> {
    const { bus, service, root } = this.opts;
    const id = serviceTopicId(service);
    await bus.publish(
      `${root}/${id}`,
      JSON.stringify({ "@type": "service", "@parent": MAIN_DEVICE, name: service, type: "service" }),
      { retain: true, qos: 1 },
    );
    await this.publish("up");
    this.sub = await bus.subscribe(topicFor(root, id, "cmd", "health", "check"), (msg) => {
      if (msg.retain || msg.payload.length === 0) return;
      this.publish("up").catch(() => {});
    });
    const every = this.opts.intervalS ?? 0;
    if (every > 0) {
      this.timer = setInterval(() => this.publish("up").catch(() => {}), every * 1000);
      this.timer.unref();
    }
  }

  async down(reason?: string): Promise<void> {
    clearInterval(this.timer);
    await this.sub?.unsubscribe();
    await this.publish("down", reason ? { reason } : {});
  }

  private publish(status: "up" | "down", extra: Record<string, unknown> = {}): Promise<void> {
    const { bus, service, root, clock } = this.opts;
    return bus.publish(healthTopic(root, service), healthPayload(status, clock, extra), {
      retain: true,
      qos: 1,
    });
  }
}
