/**
 * The Cumulocity mapper's core: one te/ or c8y/ message in, the messages to publish out.
 * Keeps the state thin-edge's mapper keeps (entities, units, capabilities, service status,
 * command status, availability) but does no I/O; `component.ts` wires it to the bus and runs the
 * uploads it asks for.
 */
import { parseChannel, type TeChannel } from "../../api/channels.ts";
import { bridgeMetricsTopic, cloudConnected } from "../../api/clouds/bridge.ts";
import { alarmToC8y } from "../../api/clouds/c8y/alarm.ts";
import { eventToC8y } from "../../api/clouds/c8y/event.ts";
import { measurementToC8y, parseUnits, type Units } from "../../api/clouds/c8y/measurement.ts";
import { BRIDGE_SERVICES, OPERATIONS, SMARTREST_DOWN, SMARTREST_UP } from "../../api/clouds/c8y.ts";
import { parseJson } from "../../api/payloads.ts";
import { defaultScheme, type EntityTopicId, MAIN_DEVICE } from "../../api/topics.ts";
import { type Entity, EntityCache } from "../common/entities.ts";
import { inputError } from "../common/errors.ts";
import type { InMessage, OutMessage, Result } from "../common/types.ts";
import { Availability } from "./availability.ts";
import {
  announceCapabilities,
  type CapabilityState,
  capabilityToC8y,
  type OperationFileNames,
  supportedOperations,
} from "./capabilities.ts";
import { commandStatusToC8y, isMapperCommand, type StatusContext } from "./command-status.ts";
import type { CustomRun } from "./custom-operations.ts";
import { jsonCustom, smartRestCustom } from "./custom-requests.ts";
import { healthStatus, healthToC8y } from "./health.ts";
import { HeldMessages } from "./held.ts";
import { activeFiles, type OperationFile } from "./operation-files.ts";
import {
  CMD_ID_PREFIX,
  JSON_FRAGMENTS,
  operationToTe,
  SMARTREST_TEMPLATES,
  SmartRestIds,
  smartRestToTe,
} from "./operations.ts";
import { registrationToC8y } from "./registration.ts";
import { SeenOperations } from "./seen-operations.ts";
import { softwareListCommand } from "./software-list.ts";
import { twinToC8y } from "./twin.ts";

const TOPIC_CACHE = 4096;
const NO_RUNS: readonly CustomRun[] = [];
const ok: Result<unknown> = { ok: true, value: undefined };

export interface C8yMapperOptions extends StatusContext {
  /** Publish the registration of auto-registered entities on te/ (retained), as thin-edge does. */
  announceAutoRegistration: boolean;
  /** `c8y.availability.interval` in seconds; undefined when `c8y.availability.enable` is off. */
  availabilityS?: number;
}

/** The topic filters the mapper needs on the local bus. */
export function c8yFilters(root: string): string[] {
  const e = `${root}/+/+/+/+`;
  return [
    e,
    `${e}/m/+`,
    `${e}/m/+/meta`,
    `${e}/e/+`,
    `${e}/a/+`,
    `${e}/twin/+`,
    `${e}/status/health`,
    `${e}/cmd/+`,
    `${e}/cmd/+/+`,
    OPERATIONS,
    SMARTREST_DOWN,
    // SmartREST custom templates (operation files' `topic = "c8y/s/dc/<template>"`)
    "c8y/s/dc/#",
  ];
}

export class C8yMapper {
  readonly entities: EntityCache;
  /** Units by entity, then measurement type. */
  private readonly units = new Map<string, Map<string, Units>>();
  private readonly errorsTopic: string;
  private readonly capabilities: CapabilityState = new Map();
  private readonly serviceStatus = new Map<string, string>();
  private readonly commandStatus = new Map<string, string>();
  private readonly prefix: string;
  private readonly channels = new Map<string, ReturnType<typeof parseChannel>>();
  /** Numbers the software_list commands the mapper issues, so two in one millisecond differ. */
  private softwareListSeq = 0;
  private readonly smartRestIds = new SmartRestIds();
  private readonly held = new HeldMessages();
  private readonly seenOps = new SeenOperations();
  /** The last value sent per twin topic. */
  private readonly twins = new Map<string, string>();
  private readonly availability?: Availability;
  private readonly bridgeTopics: Set<EntityTopicId>;
  private readonly metricsTopic: string;
  private bridgeUp = false;
  /** The main device's operation files and the commands matched to them, for the wiring to run. */
  private files: OperationFile[] = [];
  private runs: CustomRun[] = [];

  constructor(private readonly ctx: C8yMapperOptions) {
    this.entities = new EntityCache(ctx.mainId);
    this.prefix = `${ctx.root}/`;
    this.errorsTopic = `${ctx.root}/errors`;
    if (ctx.availabilityS !== undefined) this.availability = new Availability(ctx.availabilityS, ctx.mainId);
    this.bridgeTopics = new Set(BRIDGE_SERVICES.map((s) => `device/main/service/${s}`));
    this.metricsTopic = bridgeMetricsTopic(ctx.root);
  }

  /**
   * What the mapper says when it starts: the main device's required availability and `500`
   * (pending operations), which thin-edge sends on start; the bridge queues them until connected.
   */
  start(): OutMessage[] {
    const main = this.entities.get(MAIN_DEVICE)!;
    return [
      ...(this.availability?.track(main, this.ctx.now()) ?? []),
      { topic: SMARTREST_UP, payload: "500", qos: 1 },
    ];
  }

  translate(msg: InMessage): OutMessage[] {
    const out: OutMessage[] = [];
    if (!msg.topic.startsWith(this.prefix)) {
      const r = this.fromCloud(msg, out);
      if (!r.ok) out.push(...inputError(this.ctx, msg, r.error));
      return out;
    }
    const r = this.fromTe(msg, out);
    if (!r.ok) out.push(...inputError(this.ctx, msg, r.error, r.error === NOT_DEFAULT));
    return out;
  }

  poll(now: number): OutMessage[] {
    return this.availability?.poll(now) ?? [];
  }

  nextDeadline(): number | undefined {
    return this.availability?.nextDeadline();
  }

  /** New operation files: kept for matching; the main device's `114` re-sent. */
  setOperationFiles(files: OperationFile[]): OutMessage[] {
    this.files = files;
    return [supportedOperations(this.capabilities, this.entities.get(MAIN_DEVICE)!, this.ctx, this.names())];
  }

  /** The operation-file commands matched since the last call. */
  takeRuns(): readonly CustomRun[] {
    if (this.runs.length === 0) return NO_RUNS;
    const r = this.runs;
    this.runs = [];
    return r;
  }

  /** Operation files in force: templates only while the main device has their capability. */
  private active(): OperationFile[] {
    const caps = this.capabilities.get(MAIN_DEVICE)?.ops;
    return activeFiles(this.files, (op) => caps?.has(op) ?? false);
  }

  /** What the main device's 114 lists besides its capabilities. */
  private names(): OperationFileNames {
    return {
      files: this.active().map((f) => f.name),
      linked: this.files.flatMap((f) => (f.template && f.workflow ? [f.workflow.operation] : [])),
    };
  }

  private fromCloud(msg: InMessage, out: OutMessage[]): Result<unknown> {
    if (msg.topic === OPERATIONS) {
      const j = parseJson(msg.payload);
      if (!j.ok) return j;
      const raw = (j.value as { id?: unknown } | null)?.id;
      const id = typeof raw === "number" || typeof raw === "string" ? String(raw) : undefined;
      // Delivered again (after a 500, or to a restarted mapper): it is already being handled.
      if (id !== undefined && this.seenOps.has(id)) return ok;
      const op = j.value;
      // thin-edge: an operation without a built-in conversion goes to the operation files.
      if (op !== null && typeof op === "object" && !JSON_FRAGMENTS.some((f) => f in op)) {
        const c = jsonCustom(this.active(), msg.topic, op as Record<string, unknown>, this.ctx);
        if (c) {
          if (!c.ok) return c;
          if (id !== undefined && c.value.out.length) this.seenOps.start(id);
          this.runs.push(...c.value.runs);
          out.push(...c.value.out);
          return ok;
        }
      }
      if (id !== undefined) this.seenOps.start(id);
      const r = operationToTe(j.value, this.entities, this.ctx, (topicId, op) => this.supports(topicId, op));
      // Failed at once (no command): over already.
      if (id !== undefined && !(r.ok && r.value.some((m) => m.retain))) this.seenOps.finish(id);
      return push(out, r);
    }
    const text = msg.payload.toString("utf8");
    if (msg.topic === SMARTREST_DOWN) {
      const custom = text.split("\n").filter((l) => !SMARTREST_TEMPLATES.has(l.trim().split(",")[0] ?? ""));
      this.runs.push(...smartRestCustom(this.active(), msg.topic, custom.join("\n"), this.ctx.mainId));
      out.push(...smartRestToTe(text, this.entities, this.ctx, this.smartRestIds));
      return ok;
    }
    this.runs.push(...smartRestCustom(this.active(), msg.topic, text, this.ctx.mainId));
    return ok;
  }

  private fromTe(msg: InMessage, out: OutMessage[]): Result<unknown> {
    if (msg.topic === this.errorsTopic) return ok;
    if (msg.payload.length > this.ctx.maxPayloadBytes)
      return {
        ok: false,
        error: `payload of ${msg.payload.length} bytes exceeds mqtt.max_payload_bytes (${this.ctx.maxPayloadBytes})`,
      };
    const parsed = this.parse(msg.topic);
    if (!parsed.ok) return parsed;
    const ch = parsed.value;
    if (msg.topic === this.metricsTopic) {
      // ledge's bridge says whether Cumulocity is connected in its measurements; they are mapped too.
      const j = parseJson(msg.payload);
      const connected = j.ok ? cloudConnected(j.value, "c8y") : undefined;
      if (connected !== undefined) this.bridgeHealth(connected ? "up" : "down", out);
    }
    switch (ch.kind) {
      case "registration":
        return this.registration(ch.entity, msg.payload, out);
      case "other":
        return ok;
      case "command":
        // Clearing a command, or a command someone else created, needs no entity.
        if (!isMapperCommand(ch.cmdId)) return ok;
        if (msg.payload.length === 0) {
          this.commandStatus.delete(msg.topic);
          this.seenOps.finish(ch.cmdId.slice(CMD_ID_PREFIX.length));
          return ok;
        }
        this.seenOps.start(ch.cmdId.slice(CMD_ID_PREFIX.length));
        break;
      case "health": {
        const status = healthStatus(msg.payload);
        this.availability?.setHealth(ch.entity, status);
        // The bridge is a service like any other too (thin-edge shows mosquitto-c8y-bridge); its
        // own status goes first, then what a reconnect needs.
        if (this.bridgeTopics.has(ch.entity)) {
          const r = this.known(ch, msg, out);
          this.bridgeHealth(status, out, ch.entity);
          return r;
        }
        break;
      }
    }
    return this.known(ch, msg, out);
  }

  /** A data message: its entity (held, or auto-registered when new), then its mapping. */
  private known(ch: TeChannel, msg: InMessage, out: OutMessage[]): Result<unknown> {
    const cached = this.entities.get(ch.entity);
    // Telemetry of a known entity (nearly every message) needs nothing of what follows.
    if (cached && ch.kind !== "health") return this.data(ch, cached, msg, out, true);
    if (!cached && !defaultScheme(ch.entity)) {
      // Not registered yet and outside the default scheme: held until its registration arrives.
      if (msg.payload.length > 0) this.held.hold(ch.entity, msg);
      return ok;
    }
    const known = this.entities.ensure(ch.entity);
    if (!known.ok) return { ok: false, error: NOT_DEFAULT };
    const { entity, created, announce } = known.value;
    if (this.ctx.announceAutoRegistration)
      for (const a of announce)
        out.push({
          topic: `${this.prefix}${a.topicId}`,
          payload: JSON.stringify(a.payload),
          retain: true,
          qos: 1,
        });
    let health: string | undefined;
    let previousHealth: string | undefined;
    if (ch.kind === "health") {
      health = healthStatus(msg.payload);
      previousHealth = this.serviceStatus.get(ch.entity);
      this.serviceStatus.set(ch.entity, health);
    }
    for (const e of created) out.push(...this.created(e));
    return this.data(ch, entity, msg, out, created.includes(entity) || health === previousHealth);
  }

  /** One data message of a known entity. `quietHealth`: its health needs no 102 now. */
  private data(
    ch: TeChannel,
    entity: Entity,
    msg: InMessage,
    out: OutMessage[],
    quietHealth: boolean,
  ): Result<unknown> {
    switch (ch.kind) {
      case "measurement-meta": {
        if (msg.payload.length === 0) {
          this.units.get(entity.topicId)?.delete(ch.type);
          return ok;
        }
        const j = optionalJson(msg.payload);
        if (!j.ok) return j;
        const u = parseUnits(j.value);
        if (u.ok) {
          const byType = this.units.get(entity.topicId) ?? new Map<string, Units>();
          byType.set(ch.type, u.value);
          this.units.set(entity.topicId, byType);
        }
        return u;
      }
      case "measurement": {
        const j = parseJson(msg.payload);
        if (!j.ok) return j;
        return push(
          out,
          measurementToC8y(j.value, entity, ch.type, this.units.get(entity.topicId)?.get(ch.type), this.ctx),
        );
      }
      case "event":
      case "alarm": {
        const j = optionalJson(msg.payload);
        if (!j.ok) return j;
        const to = ch.kind === "event" ? eventToC8y : alarmToC8y;
        return push(out, to(j.value, entity, ch.type, this.ctx));
      }
      case "twin": {
        // thin-edge updates the inventory only when the value changed.
        const text = msg.payload.toString("utf8");
        if (this.twins.get(msg.topic) === text) return ok;
        const r = push(out, twinToC8y(msg.payload, entity, ch.fragment));
        if (r.ok) this.twins.set(msg.topic, text);
        return r;
      }
      case "health":
        // A just-created service was announced with this status already.
        if (!quietHealth)
          out.push(...healthToC8y(entity, this.serviceStatus.get(entity.topicId)!, this.entities, this.ctx));
        return ok;
      case "command-metadata": {
        const hadList = this.hasSoftwareList(entity.topicId);
        const main = entity.topicId === MAIN_DEVICE;
        const before = main ? this.names().files.join() : "";
        const r = push(
          out,
          capabilityToC8y(
            this.capabilities,
            entity,
            ch.op,
            msg.payload,
            this.ctx,
            main ? this.names() : undefined,
          ),
        );
        // A template file linked or unlinked by this capability changes the list too.
        if (r.ok && main && this.names().files.join() !== before) {
          const i = out.findIndex((m) => typeof m.payload === "string" && m.payload.startsWith("114,"));
          const full = supportedOperations(this.capabilities, entity, this.ctx, this.names());
          if (i >= 0) out[i] = full;
          else out.push(full);
        }
        // As thin-edge at start-up: an entity that can list its software is asked to, so
        // Cumulocity shows what is installed.
        if (r.ok && ch.op === "software_list" && !hadList && this.hasSoftwareList(entity.topicId))
          out.push(softwareListCommand(entity, ++this.softwareListSeq, this.ctx));
        return r;
      }
      case "command":
        return this.commandStatusChange(entity, ch.op, ch.cmdId, msg, out);
      default:
        return ok;
    }
  }

  private commandStatusChange(
    entity: Entity,
    op: string,
    cmdId: string,
    msg: InMessage,
    out: OutMessage[],
  ): Result<unknown> {
    const j = parseJson(msg.payload);
    if (!j.ok) return j;
    const status = (j.value as { status?: unknown } | null)?.status;
    if (typeof status === "string" && this.commandStatus.get(msg.topic) === status) return ok;
    const r = commandStatusToC8y(j.value, entity, op, msg.topic, cmdId, this.ctx);
    if (r.ok && typeof status === "string") {
      if (status === "successful" || status === "failed") this.commandStatus.delete(msg.topic);
      else this.commandStatus.set(msg.topic, status);
    }
    const pushed = push(out, r);
    // The installed software changed: refresh Cumulocity's list, as thin-edge does.
    const softwareChanged =
      (op === "software_update" && status === "successful") ||
      (op === "device_profile" && (status === "successful" || status === "failed"));
    if (r.ok && softwareChanged && this.hasSoftwareList(entity.topicId))
      out.push(softwareListCommand(entity, ++this.softwareListSeq, this.ctx));
    return pushed;
  }

  /**
   * The bridge's health: on every change to up (a (re)connect) everything Cumulocity must know is
   * said again — child registrations, supported operations, log and config types — and `500`
   * fetches operations sent while the link was down.
   */
  private bridgeHealth(status: string, out: OutMessage[], said?: EntityTopicId): void {
    const up = status === "up";
    if (up && !this.bridgeUp)
      out.push(...this.reannounce(said), { topic: SMARTREST_UP, payload: "500", qos: 1 });
    this.bridgeUp = up;
  }

  /** Everything Cumulocity must know again; `said`: an entity whose registration just went out. */
  private reannounce(said?: EntityTopicId): OutMessage[] {
    const out: OutMessage[] = [];
    const walk = (e: Entity) => {
      if (e.topicId !== MAIN_DEVICE && e.topicId !== said)
        out.push(...registrationToC8y(e, this.entities, this.ctx, this.serviceStatus.get(e.topicId)));
      const caps = this.capabilities.get(e.topicId);
      const names = e.topicId === MAIN_DEVICE ? this.names() : undefined;
      if (caps?.ops.size) out.push(...announceCapabilities(caps, e, this.ctx, names));
      else if (names?.files.length) out.push(supportedOperations(this.capabilities, e, this.ctx, names));
      for (const c of this.entities.childrenOf(e.topicId)) walk(c);
    };
    walk(this.entities.get(MAIN_DEVICE)!);
    return out;
  }

  /** What Cumulocity is told about a new entity: its registration, then its availability. */
  private created(e: Entity, healthSource?: string): OutMessage[] {
    return [
      ...registrationToC8y(e, this.entities, this.ctx, this.serviceStatus.get(e.topicId)),
      ...(this.availability?.track(e, this.ctx.now(), healthSource) ?? []),
    ];
  }

  private supports(topicId: string, op: string): boolean {
    return this.capabilities.get(topicId)?.ops.has(op) ?? false;
  }

  private hasSoftwareList(topicId: string): boolean {
    return this.capabilities.get(topicId)?.ops.has("software_list") ?? false;
  }

  /** Topics repeat (one per series of readings): parse each once. Bounded, so junk topics cannot grow it. */
  private parse(topic: string): ReturnType<typeof parseChannel> {
    let t = this.channels.get(topic);
    if (t === undefined) {
      t = parseChannel(topic, this.ctx.root);
      if (this.channels.size >= TOPIC_CACHE) this.channels.clear();
      this.channels.set(topic, t);
    }
    return t;
  }

  private registration(topicId: string, payload: Buffer, out: OutMessage[]): Result<unknown> {
    if (payload.length === 0) {
      const gone = this.entities.remove(topicId);
      if (gone) {
        this.capabilities.delete(topicId);
        this.serviceStatus.delete(topicId);
        this.units.delete(topicId);
        this.availability?.forget(topicId);
        for (const t of this.twins.keys())
          if (t.startsWith(`${this.prefix}${topicId}/twin/`)) this.twins.delete(t);
      }
      return ok;
    }
    const j = parseJson(payload);
    if (!j.ok) return j;
    const r = this.entities.register(topicId, j.value);
    if (!r.ok) return r;
    const health = (j.value as { "@health"?: unknown })["@health"];
    for (const e of r.value) {
      out.push(...this.created(e, e.topicId === topicId && typeof health === "string" ? health : undefined));
      // Data that came before the registration is mapped now.
      for (const m of this.held.release(e.topicId)) out.push(...this.translate(m));
    }
    return r;
  }
}

const NOT_DEFAULT = "not registered and outside the default topic scheme";

/** An empty payload (a clear) is no JSON, and no error. Not a closure: this is the hot path. */
function optionalJson(payload: Buffer): Result<unknown> {
  return payload.length > 0 ? parseJson(payload) : ok;
}

function push(out: OutMessage[], r: Result<OutMessage[]>): Result<unknown> {
  if (r.ok) for (const m of r.value) out.push(m);
  return r;
}
