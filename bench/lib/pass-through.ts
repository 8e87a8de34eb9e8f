/**
 * Loopback pass-through measurement shared by the benchmarks: one mqtt.js publisher and one
 * subscriber through a broker process, rate and the broker's CPU per delivered message.
 */
import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";

export type QoS = 0 | 1;

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};

export async function client(port: number, id: string): Promise<MqttClient> {
  return mqtt.connectAsync({ host: "127.0.0.1", port, clientId: `${id}-${process.pid}`, reconnectPeriod: 0 });
}

/** User+system CPU seconds of a process so far (/proc/<pid>/stat, USER_HZ 100). */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) / 100;
}

export interface PassThroughOptions {
  payload: string;
  /** `burst`: fire and forget, yielding every 512; `await`: each publish awaited (PUBACK at QoS 1). */
  publish: string;
  /** Gives up on deliveries after this long without one (lost messages are reported). */
  idleMs: number;
}

/** Messages/s from the first publish to the last of `n` deliveries on `subTopic`; lost ones are reported. */
export async function passThrough(
  port: number,
  pid: number,
  pubTopic: string,
  subTopic: string,
  qos: QoS,
  n: number,
  o: PassThroughOptions,
) {
  const sub = await client(port, "bench-sub");
  const pub = await client(port, "bench-pub");
  await sub.subscribeAsync(subTopic, { qos });
  let count = 0;
  let last = 0;
  const done = new Promise<void>((resolve) => {
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(resolve, o.idleMs);
    };
    arm();
    sub.on("message", () => {
      count++;
      last = performance.now();
      if (count >= n) {
        clearTimeout(idle);
        resolve();
      } else if ((count & 1023) === 0) arm();
    });
  });
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  if (o.publish === "await") {
    for (let i = 0; i < n; i++) await pub.publishAsync(pubTopic, o.payload, { qos });
  } else {
    for (let i = 0; i < n; i++) {
      pub.publish(pubTopic, o.payload, { qos });
      // Yield now and then so the socket drains and the subscriber reads.
      if ((i & 511) === 511) await new Promise((r) => setImmediate(r));
    }
  }
  await done;
  const cpu = cpuSeconds(pid) - cpu0;
  await pub.endAsync();
  await sub.endAsync();
  return { rate: count / ((last - t0) / 1000), lost: n - count, cpuUs: (cpu * 1e6) / Math.max(count, 1) };
}

/**
 * ledge interprets its message path until the embedded broker sees `run.jit_rate` (2,000 msg/s) for
 * two seconds (src/app/after-start.ts); a throughput figure is of the compiled path, so warm-up
 * traffic runs at least this long.
 */
export const JIT_WARMUP_MS = 4000;

/** Repeats `round` until `ms` have passed (at least once). */
export async function warmUp(round: () => Promise<unknown>, ms = JIT_WARMUP_MS): Promise<void> {
  const until = Date.now() + ms;
  do await round();
  while (Date.now() < until);
}
