/**
 * What a reloaded modbus.toml changes, pure: devices added, removed, changed (restarted) or left
 * alone. A device is changed when its own description differs, or when another device's change
 * gives its endpoint (a serial line) different settings, since they share one connection.
 */
import { type DeviceConfig, endpointOf } from "./config.ts";

export interface ReloadPlan {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

export function planReload(old: readonly DeviceConfig[], next: readonly DeviceConfig[]): ReloadPlan {
  const before = new Map(old.map((d) => [d.name, d]));
  const after = new Map(next.map((d) => [d.name, d]));
  const transportOf = (list: readonly DeviceConfig[]) => {
    const m = new Map<string, string>();
    for (const d of list) m.set(endpointOf(d.transport), JSON.stringify(d.transport));
    return m;
  };
  const [oldLines, newLines] = [transportOf(old), transportOf(next)];
  const plan: ReloadPlan = { added: [], removed: [], changed: [], unchanged: [] };
  for (const d of old) if (!after.has(d.name)) plan.removed.push(d.name);
  for (const d of next) {
    const was = before.get(d.name);
    if (!was) {
      plan.added.push(d.name);
      continue;
    }
    const ep = endpointOf(was.transport);
    const lineChanged = newLines.get(ep) !== undefined && oldLines.get(ep) !== newLines.get(ep);
    if (lineChanged || JSON.stringify(was) !== JSON.stringify(d)) plan.changed.push(d.name);
    else plan.unchanged.push(d.name);
  }
  return plan;
}
