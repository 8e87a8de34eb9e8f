/**
 * The Cumulocity mapper's core: one te/ or c8y/ message in, the messages to publish out.
 * Keeps the state thin-edge's mapper keeps (entities, units, capabilities, service status,
 * command status) but does no I/O; `component.ts` wires it to the bus.
 */
import { parseJson } from "../../api/payloads.ts";
import { MAIN_DEVICE, parseTopic, type TopicParse } from "../../api/topics.ts";
import { EntityCache } from "../common/entities.ts";
import { errorMessage } from "../common/errors.ts";
import type { InMessage, OutMessage, Result } from "../common/types.ts";
import { alarmToC8y } from "./alarm.ts";
import { type CapabilityState, capabilityToC8y, supportedOperations } from "./capabilities.ts";
import { commandStatusToC8y, isMapperCommand } from "./command-status.ts";
import type { CustomRun } from "./custom-operations.ts";
import { jsonCustom, smartRestCustom } from "./custom-requests.ts";
import { eventToC8y } from "./event.ts";
import { healthStatus, healthToC8y } from "./health.ts";
import { measurementToC8y, parseUnits, type Units } from "./measurement.ts";
import { activeFiles, type OperationFile } from "./operation-files.ts";
import {
  JSON_FRAGMENTS,
  OPERATIONS_TOPIC,
  type OperationContext,
  operationToTe,
  SMARTREST_DOWN_TOPIC,
  SMARTREST_TEMPLATES,
  SmartRestIds,
  smartRestToTe,
} from "./operations.ts";
import { registrationToC8y } from "./registration.ts";
import { softwareListCommand } from "./software-list.ts";
import { twinToC8y } from "./twin.ts";

const TOPIC_CACHE = 4096;

export interface C8yMapperOptions extends OperationContext {
  /** Publish the registration of auto-registered entities on te/ (retained), as thin-edge does. */
  announceAutoRegistration: boolean;
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
    OPERATIONS_TOPIC,
    SMARTREST_DOWN_TOPIC,
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
  private readonly topics = new Map<string, TopicParse>();
  /** Numbers the software_list commands the mapper issues, so two in one millisecond differ. */
  private softwareListSeq = 0;
  private readonly smartRestIds = new SmartRestIds();
  /** The main device's operation files and the commands matched to them, for the wiring to run. */
  private files: OperationFile[] = [];
  private runs: CustomRun[] = [];

  constructor(private readonly ctx: C8yMapperOptions) {
    this.entities = new EntityCache(ctx.mainId);
    this.prefix = `${ctx.root}/`;
    this.errorsTopic = `${ctx.root}/errors`;
  }

  translate(msg: InMessage): OutMessage[] {
    const out: OutMessage[] = [];
    const r = msg.topic.startsWith(this.prefix) ? this.fromTe(msg, out) : this.fromCloud(msg, out);
    if (!r.ok) out.push(errorMessage(this.ctx, msg.topic, r.error));
    return out;
  }

  /** New operation files: kept for matching; the main device's `114` re-sent. */
  setOperationFiles(files: OperationFile[]): OutMessage[] {
    this.files = files;
    const main = this.entities.byExternalId(this.ctx.mainId);
    return main
      ? [supportedOperations(this.capabilities, main, this.ctx, this.fileNames(), this.linked())]
      : [];
  }

  /** The operation-file commands matched since the last call. */
  takeRuns(): CustomRun[] {
    const r = this.runs;
    this.runs = [];
    return r;
  }

  /** Operation files in force: templates only while the main device has their capability. */
  private active(change?: { op: string; present: boolean }): OperationFile[] {
    const caps = this.capabilities.get(MAIN_DEVICE);
    return activeFiles(this.files, (op) => (op === change?.op ? change.present : (caps?.has(op) ?? false)));
  }

  /** The te/ operations that template files stand for. */
  private linked(): string[] {
    return this.files.flatMap((f) => (f.template && f.workflow ? [f.workflow.operation] : []));
  }

  private fileNames(change?: { op: string; present: boolean }): string[] {
    return this.active(change).map((f) => f.name);
  }

  private fromCloud(msg: InMessage, out: OutMessage[]): Result<unknown> {
    if (msg.topic === OPERATIONS_TOPIC) {
      const j = parseJson(msg.payload);
      if (!j.ok) return j;
      const op = j.value;
      // thin-edge: an operation without a built-in conversion goes to the operation files.
      if (op !== null && typeof op === "object" && !JSON_FRAGMENTS.some((f) => f in op)) {
        const c = jsonCustom(this.active(), msg.topic, op as Record<string, unknown>, this.ctx);
        if (c) {
          if (!c.ok) return c;
          this.runs.push(...c.value.runs);
          out.push(...c.value.out);
          return c;
        }
      }
      return push(out, operationToTe(op, this.entities, this.ctx));
    }
    const text = msg.payload.toString("utf8");
    if (msg.topic === SMARTREST_DOWN_TOPIC) {
      const custom = text.split("\n").filter((l) => !SMARTREST_TEMPLATES.has(l.trim().split(",")[0] ?? ""));
      this.runs.push(...smartRestCustom(this.active(), msg.topic, custom.join("\n"), this.ctx.mainId));
      return push(out, smartRestToTe(text, this.entities, this.ctx, this.smartRestIds));
    }
    this.runs.push(...smartRestCustom(this.active(), msg.topic, text, this.ctx.mainId));
    return { ok: true, value: undefined };
  }

  private fromTe(msg: InMessage, out: OutMessage[]): Result<unknown> {
    if (msg.topic === this.errorsTopic) return { ok: true, value: undefined };
    if (msg.payload.length > this.ctx.maxPayloadBytes)
      return {
        ok: false,
        error: `payload of ${msg.payload.length} bytes exceeds mqtt.max_payload_bytes (${this.ctx.maxPayloadBytes})`,
      };
    const t = this.parse(msg.topic);
    if (!t.ok) return t;
    const { entity: topicId, channel, type = "", rest } = t.value;
    if (channel === undefined) return this.registration(topicId, msg.payload, out);

    // Clearing a command or an unknown channel message needs no entity.
    if (channel === "cmd" && rest.length > 0 && msg.payload.length === 0) {
      this.commandStatus.delete(msg.topic);
      return { ok: true, value: undefined };
    }
    if (channel === "cmd" && rest.length > 0 && !isMapperCommand(rest[0]!))
      return { ok: true, value: undefined };
    if (channel === "signal") return { ok: true, value: undefined };

    let health: string | undefined;
    if (channel === "status") {
      if (type !== "health") return { ok: true, value: undefined };
      const s = healthStatus(msg.payload);
      if (!s.ok) return s;
      health = s.value;
    }
    const known = this.entities.ensure(topicId);
    if (!known.ok) return known;
    const { entity, created, announce } = known.value;
    const previousHealth = this.serviceStatus.get(topicId);
    if (health !== undefined) this.serviceStatus.set(topicId, health);
    if (this.ctx.announceAutoRegistration)
      for (const a of announce)
        out.push({
          topic: `${this.prefix}${a.topicId}`,
          payload: JSON.stringify(a.payload),
          retain: true,
          qos: 1,
        });
    for (const e of created)
      out.push(...registrationToC8y(e, this.entities, this.ctx, this.serviceStatus.get(e.topicId)));

    switch (channel) {
      case "m": {
        if (rest[0] === "meta") {
          if (msg.payload.length === 0) {
            this.units.get(topicId)?.delete(type);
            return { ok: true, value: undefined };
          }
          const j = parseJson(msg.payload);
          if (!j.ok) return j;
          const u = parseUnits(j.value);
          if (u.ok) {
            const byType = this.units.get(topicId) ?? new Map<string, Units>();
            byType.set(type, u.value);
            this.units.set(topicId, byType);
          }
          return u;
        }
        const j = parseJson(msg.payload);
        if (!j.ok) return j;
        return push(
          out,
          measurementToC8y(j.value, entity, type, this.units.get(topicId)?.get(type), this.ctx),
        );
      }
      case "e": {
        let json: unknown;
        if (msg.payload.length > 0) {
          const j = parseJson(msg.payload);
          if (!j.ok) return j;
          json = j.value;
        }
        return push(out, eventToC8y(json, entity, type, this.ctx));
      }
      case "a": {
        let json: unknown;
        if (msg.payload.length > 0) {
          const j = parseJson(msg.payload);
          if (!j.ok) return j;
          json = j.value;
        }
        return push(out, alarmToC8y(json, entity, type, this.ctx));
      }
      case "twin":
        return push(out, twinToC8y(msg.payload, entity, type));
      case "status":
        // A just-created service was announced with this status already.
        if (health === undefined || health === previousHealth || created.includes(entity))
          return { ok: true, value: undefined };
        out.push(...healthToC8y(entity, health, this.entities, this.ctx));
        return { ok: true, value: undefined };
      case "cmd": {
        if (rest.length === 0) {
          const hadList = this.hasSoftwareList(topicId);
          const main = topicId === MAIN_DEVICE;
          const filesBefore = main ? this.fileNames().join() : "";
          const r = push(
            out,
            capabilityToC8y(
              this.capabilities,
              entity,
              type,
              msg.payload,
              this.ctx,
              main ? this.fileNames() : [],
              main ? this.linked() : [],
            ),
          );
          // A template file linked or unlinked by this capability changes the list too.
          if (r.ok && main && this.fileNames().join() !== filesBefore && !out.some((m) => isSupported(m)))
            out.push(
              supportedOperations(this.capabilities, entity, this.ctx, this.fileNames(), this.linked()),
            );
          // As thin-edge at start-up: an entity that can list its software is asked to, so
          // Cumulocity shows what is installed.
          if (r.ok && type === "software_list" && !hadList && this.hasSoftwareList(topicId))
            out.push(softwareListCommand(entity, ++this.softwareListSeq, this.ctx));
          return r;
        }
        const j = parseJson(msg.payload);
        if (!j.ok) return j;
        const status = (j.value as { status?: unknown } | null)?.status;
        if (typeof status === "string" && this.commandStatus.get(msg.topic) === status)
          return { ok: true, value: undefined };
        const r = commandStatusToC8y(j.value, entity, type, msg.topic, rest[0]!, this.ctx);
        if (r.ok && typeof status === "string") {
          if (status === "successful" || status === "failed") this.commandStatus.delete(msg.topic);
          else this.commandStatus.set(msg.topic, status);
        }
        const pushed = push(out, r);
        // The installed software changed: refresh Cumulocity's list, as thin-edge does.
        const softwareChanged =
          (type === "software_update" && status === "successful") ||
          (type === "device_profile" && (status === "successful" || status === "failed"));
        if (r.ok && softwareChanged && this.hasSoftwareList(topicId))
          out.push(softwareListCommand(entity, ++this.softwareListSeq, this.ctx));
        return pushed;
      }
      default:
        return { ok: true, value: undefined };
    }
  }

  private hasSoftwareList(topicId: string): boolean {
    return this.capabilities.get(topicId)?.has("software_list") ?? false;
  }

  /** Topics repeat (one per series of readings): parse each once. Bounded, so junk topics cannot grow it. */
  private parse(topic: string): TopicParse {
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = parseTopic(topic, this.ctx.root);
      if (this.topics.size >= TOPIC_CACHE) this.topics.clear();
      this.topics.set(topic, t);
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
      }
      return { ok: true, value: undefined };
    }
    const j = parseJson(payload);
    if (!j.ok) return j;
    const r = this.entities.register(topicId, j.value);
    if (!r.ok) return r;
    for (const e of r.value)
      out.push(...registrationToC8y(e, this.entities, this.ctx, this.serviceStatus.get(e.topicId)));
    return r;
  }
}

function isSupported(m: OutMessage): boolean {
  return typeof m.payload === "string" && m.payload.startsWith("114,");
}

function push(out: OutMessage[], r: Result<OutMessage[]>): Result<unknown> {
  if (r.ok) for (const m of r.value) out.push(m);
  return r;
}
