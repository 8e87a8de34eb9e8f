/**
 * Field devices as thin-edge child devices: registration, measurements, and a reachability state
 * shown two ways: a retained `status/health` on the child (`up`/`down`, like a service's) and an
 * alarm that is raised while the device is unreachable and cleared when it is back.
 */

import { MAIN_DEVICE, topicFor } from "../../api/topics.ts";
import type { Bus } from "../../bus/bus.ts";
import type { DeviceTable } from "./device-file.ts";

/** Child names become one topic level and part of the cloud id. */
const CHILD_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const CHILD_NAME_HINT = "1-64 letters, digits, '_', '-', '.', ':'";

/** A device table's `name`, the child's topic id: one topic level, never the gateway's own `main`. */
export function readChildName(t: DeviceTable): string | undefined {
  const name = t.str("name", { pattern: CHILD_NAME, hint: CHILD_NAME_HINT });
  if (name !== "main") return name;
  t.report("name", "'name' must be a child device's name, not 'main' (the gateway itself)");
  return undefined;
}

export function childTopicId(name: string): string {
  return `device/${name}//`;
}

export function registrationPayload(name: string, type: string): string {
  return JSON.stringify({ "@type": "child-device", "@parent": MAIN_DEVICE, name, type });
}

/** Publishes the retained registration `te/device/<name>//`. */
export function registerChild(bus: Bus, root: string, name: string, type: string): Promise<void> {
  return bus.publish(`${root}/${childTopicId(name)}`, registrationPayload(name, type), {
    retain: true,
    qos: 1,
  });
}

export function measurementTopic(root: string, name: string, type: string): string {
  return topicFor(root, childTopicId(name), "m", type);
}

export interface ReachabilityOptions {
  bus: Bus;
  root: string;
  name: string;
  clock: () => number;
  /** Alarm type raised while unreachable, e.g. `serial_disconnected`, `modbus_no_response`. */
  alarmType: string;
  severity?: "critical" | "major" | "minor" | "warning";
}

/**
 * Tracks whether a field device answers. Publishes only on change, so a poller can call `up()` after
 * every good read at no cost. `down(reason)` raises the alarm; the next `up()` clears it.
 */
export class Reachability {
  private state: "unknown" | "up" | "down" = "unknown";

  constructor(private readonly o: ReachabilityOptions) {}

  get current(): "unknown" | "up" | "down" {
    return this.state;
  }

  async up(): Promise<void> {
    if (this.state === "up") return;
    this.state = "up";
    await this.publishStatus("up");
    // also from `unknown`: an alarm retained from an earlier run must not outlive the fault
    await this.o.bus.publish(this.alarmTopic(), "", { retain: true, qos: 1 });
  }

  async down(reason: string): Promise<void> {
    if (this.state === "down") return;
    this.state = "down";
    await this.publishStatus("down", reason);
    const alarm = {
      text: `${this.o.name}: ${reason}`,
      severity: this.o.severity ?? "major",
      time: this.iso(),
    };
    await this.o.bus.publish(this.alarmTopic(), JSON.stringify(alarm), { retain: true, qos: 1 });
  }

  private alarmTopic(): string {
    return topicFor(this.o.root, childTopicId(this.o.name), "a", this.o.alarmType);
  }

  private publishStatus(status: "up" | "down", reason?: string): Promise<void> {
    const payload = { status, time: this.iso(), ...(reason ? { reason } : {}) };
    return this.o.bus.publish(
      topicFor(this.o.root, childTopicId(this.o.name), "status", "health"),
      JSON.stringify(payload),
      {
        retain: true,
        qos: 1,
      },
    );
  }

  private iso(): string {
    return new Date(this.o.clock()).toISOString();
  }
}
