/**
 * The step API of thin-edge flows (TEDGE-FACTS §10.3), as ledge's host code sees it. Built-in steps
 * implement `Step` directly; JavaScript steps are wrapped by the sandbox into the same shape.
 */

export interface MqttMeta {
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

/** A message going into a step: the payload is bytes, `time` is when it entered the flow. */
export interface FlowMessage {
  topic: string;
  payload: Uint8Array;
  time: Date;
  mqtt?: MqttMeta;
}

/** A message a step returns: the payload may be a string (UTF-8) or bytes. */
export interface OutMessage {
  topic: string;
  payload: string | Uint8Array;
  mqtt?: MqttMeta;
}

/** `null`/`undefined` = nothing, one message, or a list (empty = drop). */
export type StepResult = OutMessage | OutMessage[] | null | undefined;

/** thin-edge's key-value stores: `context.mapper`, `context.flow`, `context.script`. */
export interface KeyValue {
  keys(): string[];
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  remove(key: string): void;
}

export interface StepContext {
  /** The step's config merged over the flow's `config`. */
  config: Record<string, unknown>;
  mapper: KeyValue;
  flow: KeyValue;
  script: KeyValue;
}

/** A key of `context.mapper` set or removed (thin-edge's `FlowContextUpdate`). */
export interface ContextUpdate {
  kind: "inserted" | "removed";
  key: string;
}

export interface Step {
  onMessage(message: FlowMessage, context: StepContext): StepResult;
  onInterval?(time: Date, context: StepContext): StepResult;
  onStartup?(time: Date, context: StepContext): StepResult;
  /**
   * Called for every change to `context.mapper` once the event that made it is through, as
   * thin-edge's builtin steps see them (`cache-early-messages` releases an entity's messages
   * when its registration is stored). JavaScript steps have no such hook in thin-edge.
   */
  onContextUpdate?(update: ContextUpdate, context: StepContext): StepResult;
  /** Releases what the step holds (a sandbox runtime). */
  close?(): void;
}

/** A step that was stopped for good (ran out of time or memory): its flow stops with it. */
export class StepKilled extends Error {
  override name = "StepKilled";
}

export class MapKeyValue implements KeyValue {
  private readonly m = new Map<string, unknown>();
  keys(): string[] {
    return [...this.m.keys()];
  }
  get(key: string): unknown {
    return this.m.has(key) ? this.m.get(key) : null;
  }
  set(key: string, value: unknown): void {
    if (value === null || value === undefined) this.m.delete(key);
    else this.m.set(key, value);
  }
  remove(key: string): void {
    this.m.delete(key);
  }
}

/** `context.mapper`: a `MapKeyValue` that notes each change for the steps' `onContextUpdate`. */
export class MapperKeyValue extends MapKeyValue {
  private updates: ContextUpdate[] = [];
  override set(key: string, value: unknown): void {
    super.set(key, value);
    this.updates.push({ kind: value === null || value === undefined ? "removed" : "inserted", key });
  }
  override remove(key: string): void {
    super.remove(key);
    this.updates.push({ kind: "removed", key });
  }
  /** Whether there are changes to drain (the hot path asks this once per message). */
  get changed(): boolean {
    return this.updates.length > 0;
  }
  /** The changes since the last call, oldest first. */
  drain(): ContextUpdate[] {
    if (this.updates.length === 0) return [];
    const u = this.updates;
    this.updates = [];
    return u;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytes = (p: string | Uint8Array): Uint8Array => (typeof p === "string" ? encoder.encode(p) : p);
export const text = (p: string | Uint8Array): string => (typeof p === "string" ? p : decoder.decode(p));

/** The JSON object in a payload, or undefined when it is not one. */
export function jsonObject(p: string | Uint8Array): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text(p));
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
