/**
 * What the console shows, kept from the bus: entities with their health and twin, the last minutes
 * of every measurement series in a bounded ring, active alarms, recent events, commands with their
 * status history, te/errors. Pure (time is passed in) and bounded in every dimension, so a flood of
 * topics costs at most the configured limits. Each change is also emitted as a delta for the live
 * stream; a new page starts from `snapshot()`.
 */
import { parentOf } from "../../api/entity-tree.ts";
import type { Registration } from "../../api/payloads.ts";
import { defaultScheme, parseTopic } from "../../api/topics.ts";
import { isObj } from "../../foundation/json.ts";

export interface ModelLimits {
  /** Seconds of history kept per series. */
  historyS: number;
  /** Points kept per series (oldest dropped first). */
  points: number;
  series: number;
  entities: number;
  events: number;
  commands: number;
}

export const DEFAULT_LIMITS: ModelLimits = {
  historyS: 600,
  points: 600,
  series: 2000,
  entities: 1000,
  events: 200,
  commands: 200,
};

export interface EntityView {
  id: string;
  /** By the te/ rules (the api's entity tree): `@parent`, else the default topic scheme. */
  parent?: string;
  registration?: Record<string, unknown>;
  health?: { status: string; time?: unknown };
  twin: Record<string, unknown>;
}

export interface Point {
  t: number;
  v: number;
}

export interface AlarmView {
  entity: string;
  type: string;
  severity: string;
  text: string;
  time?: unknown;
}

export interface EventView {
  entity: string;
  type: string;
  text: string;
  time: number;
  /** The event's other fields as JSON (e.g. the flight recorder's frames of a modbus_comm event), cut at 4 KiB. */
  detail?: string;
}

const DETAIL_MAX = 4096;

export interface CommandView {
  entity: string;
  op: string;
  id: string;
  status: string;
  reason?: string;
  history: { status: string; t: number }[];
}

export type Delta =
  | { kind: "entity"; entity: EntityView | { id: string; removed: true } }
  | { kind: "m"; entity: string; series: string; point: Point }
  | { kind: "alarm"; key: string; alarm?: AlarmView }
  | { kind: "event"; event: EventView }
  | { kind: "cmd"; key: string; command?: CommandView }
  | { kind: "error"; text: string; t: number };

export interface Snapshot {
  entities: EntityView[];
  series: Record<string, Point[]>;
  alarms: Record<string, AlarmView>;
  events: EventView[];
  commands: CommandView[];
  errors: { text: string; t: number }[];
}

const json = (payload: string): unknown => {
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
};

/** `entity|type|name` for a flat value, `entity|type|group.name` for a grouped one. */
export function seriesOf(entity: string, type: string, m: Record<string, unknown>): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(m)) {
    if (k === "time" || k === "type") continue;
    if (typeof v === "number") out.push([`${entity}|${type}|${k}`, v]);
    else if (isObj(v))
      for (const [g, x] of Object.entries(v))
        if (typeof x === "number") out.push([`${entity}|${type}|${k}.${g}`, x]);
  }
  return out;
}

export class ConsoleModel {
  private readonly entities = new Map<string, EntityView>();
  private readonly series = new Map<string, Point[]>();
  private readonly alarms = new Map<string, AlarmView>();
  private readonly events: EventView[] = [];
  private readonly commands = new Map<string, CommandView>();
  private readonly errors: { text: string; t: number }[] = [];
  private readonly listeners = new Set<(d: Delta) => void>();

  constructor(
    private readonly root = "te",
    private readonly limits: ModelLimits = DEFAULT_LIMITS,
  ) {}

  onDelta(listener: (d: Delta) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One bus message; `now` in ms. */
  apply(topic: string, payload: string, now: number): void {
    if (topic === `${this.root}/errors`) {
      this.push(this.errors, { text: payload, t: now }, this.limits.events);
      this.emit({ kind: "error", text: payload, t: now });
      return;
    }
    const parsed = parseTopic(topic, this.root);
    if (!parsed.ok) return;
    const { entity, channel, type = "", rest } = parsed.value;
    if (!channel) this.registration(entity, payload);
    else if (channel === "m" && rest.length === 0) this.measurement(entity, type, payload, now);
    else if (channel === "a") this.alarm(entity, type, payload);
    else if (channel === "e") this.event(entity, type, payload, now);
    else if (channel === "twin") this.twin(entity, type, payload);
    else if (channel === "status" && type === "health") this.health(entity, payload);
    else if (channel === "cmd" && rest.length === 1) this.command(entity, type, rest[0]!, payload, now);
  }

  snapshot(now: number): Snapshot {
    const series: Record<string, Point[]> = {};
    for (const [k, ring] of this.series) series[k] = this.trim(ring, now);
    return {
      entities: [...this.entities.values()],
      series,
      alarms: Object.fromEntries(this.alarms),
      events: [...this.events],
      commands: [...this.commands.values()],
      errors: [...this.errors],
    };
  }

  private entity(id: string): EntityView | undefined {
    let e = this.entities.get(id);
    if (!e) {
      if (this.entities.size >= this.limits.entities) return undefined;
      e = { id, parent: defaultScheme(id)?.parent, twin: {} };
      this.entities.set(id, e);
    }
    return e;
  }

  private registration(id: string, payload: string): void {
    if (payload === "") {
      this.entities.delete(id);
      for (const key of [...this.series.keys()]) if (key.startsWith(`${id}|`)) this.series.delete(key);
      this.emit({ kind: "entity", entity: { id, removed: true } });
      return;
    }
    const reg = json(payload);
    const e = isObj(reg) ? this.entity(id) : undefined;
    if (!e || !isObj(reg)) return;
    e.registration = reg;
    e.parent = parentOf(id, reg as Registration);
    this.emit({ kind: "entity", entity: e });
  }

  private health(id: string, payload: string): void {
    const h = json(payload);
    const e = this.entity(id);
    if (!e) return;
    e.health =
      isObj(h) && typeof h.status === "string" ? { status: h.status, time: h.time } : { status: "unknown" };
    this.emit({ kind: "entity", entity: e });
  }

  private twin(id: string, fragment: string, payload: string): void {
    const e = this.entity(id);
    if (!e) return;
    if (payload === "") delete e.twin[fragment];
    else e.twin[fragment] = json(payload) ?? payload;
    this.emit({ kind: "entity", entity: e });
  }

  private measurement(entity: string, type: string, payload: string, now: number): void {
    const m = json(payload);
    if (!isObj(m)) return;
    for (const [key, v] of seriesOf(entity, type, m)) {
      let ring = this.series.get(key);
      if (!ring) {
        if (this.series.size >= this.limits.series) continue;
        ring = [];
        this.series.set(key, ring);
      }
      const point = { t: now, v };
      this.push(ring, point, this.limits.points);
      this.trim(ring, now);
      this.emit({ kind: "m", entity, series: key, point });
    }
  }

  private alarm(entity: string, type: string, payload: string): void {
    const key = `${entity}|${type}`;
    if (payload === "") {
      if (!this.alarms.delete(key)) return;
      this.emit({ kind: "alarm", key });
      return;
    }
    const a = json(payload);
    const o = isObj(a) ? a : {};
    const alarm: AlarmView = {
      entity,
      type,
      severity: typeof o.severity === "string" ? o.severity : "minor",
      text: typeof o.text === "string" ? o.text : type,
      time: o.time,
    };
    if (!this.alarms.has(key) && this.alarms.size >= this.limits.events) return;
    this.alarms.set(key, alarm);
    this.emit({ kind: "alarm", key, alarm });
  }

  private event(entity: string, type: string, payload: string, now: number): void {
    const e = json(payload);
    const text = isObj(e) && typeof e.text === "string" ? e.text : type;
    const { text: _t, time: _time, ...rest } = isObj(e) ? e : {};
    const all = Object.keys(rest).length ? JSON.stringify(rest, null, 1) : undefined;
    const detail = all && all.length > DETAIL_MAX ? `${all.slice(0, DETAIL_MAX)}…` : all;
    const event: EventView = { entity, type, text, time: now, ...(detail ? { detail } : {}) };
    this.push(this.events, event, this.limits.events);
    this.emit({ kind: "event", event });
  }

  private command(entity: string, op: string, id: string, payload: string, now: number): void {
    const key = `${entity}|${op}|${id}`;
    if (payload === "") return; // cleared by its requester: keep the finished command in the history
    const c = json(payload);
    if (!isObj(c) || typeof c.status !== "string") return;
    let cmd = this.commands.get(key);
    if (!cmd) {
      if (this.commands.size >= this.limits.commands) {
        const oldest = this.commands.keys().next().value;
        if (oldest !== undefined) this.commands.delete(oldest);
      }
      cmd = { entity, op, id, status: c.status, history: [] };
      this.commands.set(key, cmd);
    }
    if (cmd.history.at(-1)?.status !== c.status) cmd.history.push({ status: c.status, t: now });
    cmd.status = c.status;
    cmd.reason = typeof c.reason === "string" ? c.reason : undefined;
    this.emit({ kind: "cmd", key, command: cmd });
  }

  private push<T>(ring: T[], item: T, max: number): void {
    ring.push(item);
    if (ring.length > max) ring.splice(0, ring.length - max);
  }

  private trim(ring: Point[], now: number): Point[] {
    const from = now - this.limits.historyS * 1000;
    let i = 0;
    while (i < ring.length && ring[i]!.t < from) i++;
    if (i) ring.splice(0, i);
    return ring;
  }

  private emit(d: Delta): void {
    for (const l of this.listeners) l(d);
  }
}
