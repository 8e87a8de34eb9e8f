/** Pure parsers for /proc and /sys text, and the measurement built from two samples. */

export interface CpuTimes {
  total: number;
  idle: number;
}

/** The aggregate `cpu` line of /proc/stat (idle includes iowait). */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split("\n").find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  if (v.length < 4 || v.some((n) => !Number.isFinite(n))) return undefined;
  // guest and guest_nice (9th, 10th) are already counted in user and nice.
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, idle: (v[3] ?? 0) + (v[4] ?? 0) };
}

export function cpuPercent(prev: CpuTimes, cur: CpuTimes): number | undefined {
  const dt = cur.total - prev.total;
  if (dt <= 0) return undefined;
  return round(100 * (1 - (cur.idle - prev.idle) / dt));
}

export interface MemInfo {
  totalBytes: number;
  availableBytes: number;
}

/** /proc/meminfo; MemAvailable when the kernel has it (3.14+), else free + buffers + cached. */
export function parseMeminfo(text: string): MemInfo | undefined {
  const kb = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]));
  }
  const total = kb.get("MemTotal");
  if (total === undefined) return undefined;
  const avail =
    kb.get("MemAvailable") ?? (kb.get("MemFree") ?? 0) + (kb.get("Buffers") ?? 0) + (kb.get("Cached") ?? 0);
  return { totalBytes: total * 1024, availableBytes: avail * 1024 };
}

export function parseLoadavg(text: string): [number, number, number] | undefined {
  const v = text.trim().split(/\s+/).slice(0, 3).map(Number);
  if (v.length < 3 || v.some((n) => !Number.isFinite(n))) return undefined;
  return [v[0]!, v[1]!, v[2]!];
}

export interface NetCounters {
  rxBytes: number;
  txBytes: number;
}

/** /proc/net/dev per interface, loopback left out. */
export function parseNetDev(text: string): Map<string, NetCounters> {
  const out = new Map<string, NetCounters>();
  for (const line of text.split("\n")) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === "lo") continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    if (v.length < 9 || !Number.isFinite(v[0]) || !Number.isFinite(v[8])) continue;
    out.set(m[1]!, { rxBytes: v[0]!, txBytes: v[8]! });
  }
  return out;
}

/** A thermal zone's `temp` (millidegrees Celsius) in °C. */
export function parseThermal(text: string): number | undefined {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  return Number(t) / 1000;
}

export interface DiskUsage {
  mount: string;
  totalBytes: number;
  freeBytes: number;
}

export interface Sample {
  /** Epoch ms. */
  at: number;
  cpu?: CpuTimes;
  load?: [number, number, number];
  mem?: MemInfo;
  net: Map<string, NetCounters>;
  /** zone name → °C */
  temps: Map<string, number>;
  disks: DiskUsage[];
}

/** `/` → `disk_root`, `/var/lib` → `disk_var_lib`. */
export function diskGroup(mount: string): string {
  const s = mount.replace(/^\/+|\/+$/g, "").replace(/[^\w]+/g, "_");
  return s ? `disk_${s}` : "disk_root";
}

/** Thin Edge JSON for `te/device/main///m/system`: one group per concern, numbers only. */
export function systemMeasurement(
  prev: Sample | undefined,
  cur: Sample,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const cpu: Record<string, number> = {};
  if (prev?.cpu && cur.cpu) {
    const p = cpuPercent(prev.cpu, cur.cpu);
    if (p !== undefined) cpu.usage_percent = p;
  }
  if (cur.load) [cpu.load1, cpu.load5, cpu.load15] = cur.load;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (cur.mem && cur.mem.totalBytes > 0) {
    const used = cur.mem.totalBytes - cur.mem.availableBytes;
    out.memory = {
      total_bytes: cur.mem.totalBytes,
      available_bytes: cur.mem.availableBytes,
      used_percent: round((100 * used) / cur.mem.totalBytes),
    };
  }
  for (const d of cur.disks) {
    if (d.totalBytes <= 0) continue;
    out[diskGroup(d.mount)] = {
      total_bytes: d.totalBytes,
      free_bytes: d.freeBytes,
      used_percent: round((100 * (d.totalBytes - d.freeBytes)) / d.totalBytes),
    };
  }
  const dt = prev ? (cur.at - prev.at) / 1000 : 0;
  for (const [iface, c] of cur.net) {
    const p = prev?.net.get(iface);
    const g: Record<string, number> = { rx_bytes: c.rxBytes, tx_bytes: c.txBytes };
    // Counters reset when an interface comes back; a negative rate would be nonsense.
    if (p && dt > 0 && c.rxBytes >= p.rxBytes && c.txBytes >= p.txBytes) {
      g.rx_bytes_per_s = round((c.rxBytes - p.rxBytes) / dt);
      g.tx_bytes_per_s = round((c.txBytes - p.txBytes) / dt);
    }
    out[`net_${iface.replace(/[^\w]+/g, "_")}`] = g;
  }
  if (cur.temps.size) out.temperature = Object.fromEntries(cur.temps);
  return out;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
