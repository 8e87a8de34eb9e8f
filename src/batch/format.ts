/**
 * The batch frame format, version 1: one CBOR array (RFC 8949) per frame, typed arrays per RFC 8746
 * (little-endian tags). Documented in README.md (section "Telemetry batching").
 *
 *   [ version, entities, types, series, channels, count, ch, t0, dt, scale, values ]
 *
 * Positions are fixed (a packed array) so no key is repeated, not even once per frame.
 */

export const FRAME_VERSION = 1;

/** Array positions of the frame fields. */
export const F = {
  version: 0,
  entities: 1,
  types: 2,
  series: 3,
  channels: 4,
  count: 5,
  ch: 6,
  t0: 7,
  dt: 8,
  scale: 9,
  values: 10,
} as const;
export const FRAME_FIELDS = 11;

/** `scale` value meaning "values are raw IEEE floats" (a float32 or float64 typed array). */
export const SCALE_FLOAT = -1;
/** Largest decimal scale: values are integers / 10^scale. */
export const MAX_SCALE = 9;

/** RFC 8746 typed-array tags (little-endian), the only tags a v1 frame may carry. */
export const TAG = {
  uint8: 64,
  uint16: 69,
  int8: 72,
  int16: 77,
  int32: 78,
  float32: 85,
  float64: 86,
} as const;

/** Limits of one frame, also enforced by the decoder. */
export const LIMITS = {
  /** Distinct entities, types and series each (interned ids must fit 10 bits). */
  names: 1023,
  /** Distinct (entity, type, series) channels. */
  channels: 65535,
  /** Longest entity, type or series name, in UTF-16 code units. */
  nameLength: 4096,
} as const;

/** One reading as appended and as decoded. */
export interface BatchRecord {
  /** Entity topic id, e.g. `device/child1//`. */
  entity: string;
  /** Measurement type, `""` for none (topic `te/<entity>/m/`). */
  type: string;
  /** Series name; `group.name` for a series inside a group (split at the first dot). */
  series: string;
  value: number;
  /** Milliseconds since the unix epoch. */
  tsMs: number;
}

/**
 * Invalid frame (truncated, corrupt, oversized, wrong version). The message says what is wrong and
 * where; decoding never throws anything else for bad input.
 */
export class BatchFormatError extends Error {
  override name = "BatchFormatError";
}
