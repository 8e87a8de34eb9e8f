/**
 * Cumulocity's device availability, as thin-edge's mapper keeps it (`c8y_mapper_ext/src/availability`):
 * `117,<minutes>` (required interval) for the main device at start and for each new child device,
 * then a heartbeat per device every half interval — an empty inventory update `{}` — sent only
 * while the device's health source last said `up`. The health source is the registration's
 * `@health` entity, else the device's agent service (`tedge-agent`, or ledge's `ledge-agent`).
 * Pure: the wiring calls `poll` at `nextDeadline`.
 */

import { record, smartRestTopic } from "../../api/clouds/c8y/smartrest.ts";
import { inventoryUpdateTopic } from "../../api/clouds/c8y.ts";
import type { EntityTopicId } from "../../api/topics.ts";
import type { Entity } from "../common/entities.ts";
import type { OutMessage } from "../common/types.ts";

const AGENTS = ["tedge-agent", "ledge-agent"];

interface Tracked {
  xid: string;
  sources: EntityTopicId[];
  due: number;
}

export class Availability {
  private readonly devices = new Map<EntityTopicId, Tracked>();
  private readonly health = new Map<EntityTopicId, string>();

  /** `intervalS` 0: no heartbeats, `117,0` (maintenance mode). */
  constructor(
    private readonly intervalS: number,
    private readonly mainId: string,
  ) {}

  /** Starts tracking a device; returns its `117`. `healthSource` is its registration's `@health`. */
  track(entity: Entity, now: number, healthSource?: string): OutMessage[] {
    if (entity.kind === "service") return [];
    const [, name] = entity.topicId.split("/");
    const sources = healthSource ? [healthSource] : AGENTS.map((a) => `device/${name}/service/${a}`);
    this.devices.set(entity.topicId, { xid: entity.externalId, sources, due: now + this.half() });
    const minutes = Math.floor(this.intervalS / 60);
    return [
      {
        topic: smartRestTopic(entity.externalId, this.mainId),
        payload: record(117, String(minutes)),
        qos: 1,
      },
    ];
  }

  forget(topicId: EntityTopicId): void {
    this.devices.delete(topicId);
  }

  /** The latest health status of any service (only sources matter). */
  setHealth(topicId: EntityTopicId, status: string): void {
    this.health.set(topicId, status);
  }

  nextDeadline(): number | undefined {
    if (this.intervalS === 0) return undefined;
    let next: number | undefined;
    for (const d of this.devices.values()) if (next === undefined || d.due < next) next = d.due;
    return next;
  }

  poll(now: number): OutMessage[] {
    const out: OutMessage[] = [];
    if (this.intervalS === 0) return out;
    for (const d of this.devices.values()) {
      if (d.due > now) continue;
      d.due = now + this.half();
      if (d.sources.some((s) => this.health.get(s) === "up"))
        out.push({ topic: inventoryUpdateTopic(d.xid), payload: "{}", qos: 1 });
    }
    return out;
  }

  private half(): number {
    return (this.intervalS * 1000) / 2;
  }
}

/** `c8y.availability.interval` as thin-edge writes it: seconds, or a number with s, m or h. */
export function parseInterval(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(s|m|h|min)?\s*$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "h" ? n * 3600 : m[2] === "m" || m[2] === "min" ? n * 60 : n;
}
