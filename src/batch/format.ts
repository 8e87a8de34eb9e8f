/**
 * The batch frame format, version 1: one CBOR array (RFC 8949) per frame. Documented in README.md
 * (section "Telemetry batching").
 *
 *   [ version, entities, types, series, channels, count, ch, times, values, crc ]
 *
 * Positions are fixed (a packed array) so no key is repeated, not even once per frame; `channels`,
 * `times` and `values` are encoded CBOR sequences (tag 63, RFC 8742) of numbers.
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
  times: 7,
  values: 8,
  /** CRC-32 of every frame byte before this item, always a 4-byte uint (head 0x1a). */
  crc: 9,
} as const;
export const FRAME_FIELDS = 10;
/** The CRC item: head 0x1a then 4 bytes, the frame's last 5 bytes. */
export const CRC_ITEM_BYTES = 5;

/** Channel scale meaning "this channel's values are floats as they are". */
export const SCALE_FLOAT = -1;
/** Largest decimal scale: values are integers / 10^scale. */
export const MAX_SCALE = 9;

/** The tags a v1 frame may carry. */
export const TAG = {
  /** Encoded CBOR sequence (RFC 8742). */
  sequence: 63,
  /** RFC 8746 typed arrays: uint8 (optional, a plain byte string is the same), uint16 little-endian. */
  uint8: 64,
  uint16: 69,
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
