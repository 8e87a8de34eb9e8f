/**
 * Events for points refused with an exception, pure: a `modbus_point_error` naming the register
 * when a point starts answering with an exception (or a different one), then at most one per
 * interval while it persists. `sent` (point → when and what was last sent) is updated in place and
 * forgets points that read again.
 */
import type { OutMessage } from "../../bus/bus.ts";
import type { PointError } from "./device-poller.ts";
import { deviceTopic } from "./readings.ts";

export const POINT_ERROR_EVENT = "modbus_point_error";

export interface PointErrorState {
  root: string;
  device: string;
  errors: ReadonlyMap<string, PointError>;
  sent: Map<string, { at: number; text: string }>;
  now: number;
  everyMs: number;
  iso: string;
}

export function pointErrorEvents(s: PointErrorState): OutMessage[] {
  for (const name of [...s.sent.keys()]) if (!s.errors.has(name)) s.sent.delete(name);
  const out: OutMessage[] = [];
  for (const e of s.errors.values()) {
    const last = s.sent.get(e.point);
    if (last && last.text === e.text && s.now - last.at < s.everyMs) continue;
    s.sent.set(e.point, { at: s.now, text: e.text });
    out.push({
      topic: `${deviceTopic(s.root, s.device)}/e/${POINT_ERROR_EVENT}`,
      payload: JSON.stringify({
        text: `point '${e.point}' (${e.text})`,
        time: s.iso,
        point: e.point,
        table: e.table,
        address: e.address,
        code: e.code,
      }),
      retain: false,
      qos: 1,
    });
  }
  return out;
}
