import type { QoS } from "../../bus/bus.ts";

/** One MQTT message as a mapper sees it: the bus's message without I/O concerns. */
export interface InMessage {
  topic: string;
  payload: Buffer;
  retain?: boolean;
  qos?: QoS;
}

export type { OutMessage } from "../../bus/bus.ts";
export type { Result } from "../../foundation/result.ts";

/** What every converter may need besides the message: injected, so converters stay pure. */
export interface MapperContext {
  /** `device.id`: the main device's cloud id and the root of child ids. */
  mainId: string;
  /** `mqtt.topic_root`, `te` by default. */
  root: string;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** `mqtt.max_payload_bytes`: bigger te/ payloads are refused with a te/errors message. */
  maxPayloadBytes: number;
  /**
   * The api component runs (`run.components` has `api`) and reports faults of te/ messages on
   * te/errors: a mapper then reports only the faults that are its own.
   */
  apiReportsErrors?: boolean;
}
