/**
 * What the te/ → Cumulocity translation needs to know, shared by the c8y mapper (its entity
 * cache) and the flows' `into-c8y-*` steps (registration data in `context.mapper`).
 */
export type { OutMessage } from "../../../bus/bus.ts";
export type { Result } from "../../../foundation/result.ts";

/** The entity a message is about, as Cumulocity knows it. */
export interface C8ySource {
  externalId: string;
}

export interface C8yTelemetryContext {
  /** The main device's external id: its data carries no `externalSource` and goes to `s/us`. */
  mainId: string;
  /** Milliseconds since the epoch (the time given to data without one). */
  now: () => number;
}
