/** The page's copy of the server model: a snapshot, then each delta applied to it in place. */
import type { Delta, Snapshot } from "../model.ts";

export const empty = (): Snapshot => ({
  entities: [],
  series: {},
  alarms: {},
  events: [],
  commands: [],
  errors: [],
});

const HISTORY_MS = 600_000;

export function applyDelta(s: Snapshot, d: Delta): void {
  switch (d.kind) {
    case "entity": {
      const i = s.entities.findIndex((e) => e.id === d.entity.id);
      if ("removed" in d.entity) {
        if (i >= 0) s.entities.splice(i, 1);
      } else if (i >= 0) s.entities[i] = d.entity;
      else s.entities.push(d.entity);
      return;
    }
    case "m": {
      const ring = s.series[d.series] ?? [];
      s.series[d.series] = ring;
      ring.push(d.point);
      while (ring.length && ring[0]!.t < d.point.t - HISTORY_MS) ring.shift();
      return;
    }
    case "alarm":
      if (d.alarm) s.alarms[d.key] = d.alarm;
      else delete s.alarms[d.key];
      return;
    case "event":
      s.events.push(d.event);
      if (s.events.length > 200) s.events.shift();
      return;
    case "cmd": {
      const i = s.commands.findIndex((c) => `${c.entity}|${c.op}|${c.id}` === d.key);
      if (d.command) {
        if (i >= 0) s.commands[i] = d.command;
        else s.commands.push(d.command);
      }
      return;
    }
    case "error":
      s.errors.push({ text: d.text, t: d.t });
      if (s.errors.length > 200) s.errors.shift();
      return;
  }
}
