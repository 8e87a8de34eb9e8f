import { type FrameSpec, readField } from "../framing/binary.ts";
import { put, type Values } from "./types.ts";

/** The fields of a binary frame (framing and checksum already verified) as values. */
export function frameValues(spec: FrameSpec, frame: Buffer): Values {
  const values: Values = {};
  for (const f of spec.fields) put(values, f.name, readField(frame, f), ".");
  return values;
}
