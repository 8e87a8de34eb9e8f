import { readdir, readFile, statfs } from "node:fs/promises";
import { join } from "node:path";
import type { Bus } from "../../bus/bus.ts";
import type { Logger } from "../../foundation/logger.ts";
import {
  type DiskUsage,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseThermal,
  type Sample,
  systemMeasurement,
} from "./parse.ts";

export interface MonitorOptions {
  bus: Bus;
  topic: string;
  intervalS: number;
  disks: string[];
  clock: () => number;
  log: Logger;
  /** Roots of /proc and /sys (tests point them at sample trees). */
  proc?: string;
  sys?: string;
}

const read = (p: string) => readFile(p, "utf8").catch(() => undefined);

/** Reads one sample; anything missing (no thermal zones, a container without /proc/net) is skipped. */
export async function readSample(
  opts: Pick<MonitorOptions, "disks" | "clock" | "proc" | "sys">,
): Promise<Sample> {
  const proc = opts.proc ?? "/proc";
  const sys = opts.sys ?? "/sys";
  const [stat, mem, load, net] = await Promise.all(
    ["stat", "meminfo", "loadavg", "net/dev"].map((f) => read(join(proc, f))),
  );
  const temps = new Map<string, number>();
  const thermal = join(sys, "class/thermal");
  const zones = (await readdir(thermal).catch(() => [] as string[]))
    .filter((z) => z.startsWith("thermal_zone"))
    .sort();
  for (const z of zones) {
    const t = parseThermal((await read(join(thermal, z, "temp"))) ?? "");
    if (t === undefined) continue;
    const type = ((await read(join(thermal, z, "type"))) ?? "").trim().replace(/[^\w]+/g, "_");
    temps.set(type && !temps.has(type) ? type : z, t);
  }
  const disks: DiskUsage[] = [];
  for (const mount of opts.disks) {
    try {
      const s = await statfs(mount);
      disks.push({ mount, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize });
    } catch {
      // not mounted, or no statfs in this runtime
    }
  }
  return {
    at: opts.clock(),
    cpu: stat ? parseProcStat(stat) : undefined,
    mem: mem ? parseMeminfo(mem) : undefined,
    load: load ? parseLoadavg(load) : undefined,
    net: net ? parseNetDev(net) : new Map(),
    temps,
    disks,
  };
}

/** Publishes the gateway's own CPU, memory, disk, network and temperature every interval. */
export class SystemMonitor {
  private timer?: NodeJS.Timeout;
  private prev?: Sample;
  /** The sample being taken: stop() waits for it, so nothing is published on a closing bus. */
  private running?: Promise<void>;

  constructor(private readonly opts: MonitorOptions) {}

  async start(): Promise<void> {
    if (this.opts.intervalS <= 0) return;
    this.prev = await readSample(this.opts);
    this.timer = setInterval(() => void this.tick(), this.opts.intervalS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  tick(): Promise<void> {
    this.running ??= this.sample().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sample(): Promise<void> {
    try {
      const cur = await readSample(this.opts);
      const m = systemMeasurement(this.prev, cur);
      this.prev = cur;
      if (Object.keys(m).length)
        await this.opts.bus.publish(
          this.opts.topic,
          JSON.stringify({ ...m, time: new Date(cur.at).toISOString() }),
        );
    } catch (e) {
      this.opts.log.warn("system monitor sample failed", { error: e });
    }
  }
}
