/**
 * Cost of the Modbus flight recorder (issue 15): the real `modbus` component polling 50 units of one
 * pymodbus TCP slave (hw-test/modbus/slave.py) every 10 ms, once with the recorder at its default
 * ring (64 frames per port) and once switched off (`modbus.recorder.frames = 0`), rounds alternated in
 * the same run: this process's CPU time per poll and the poll rate, with the ratio; the recorder's
 * own work per poll measured alone. Memory: what a full ring takes per port, measured over 1,000
 * recorders after a GC.
 * `DURATION_S=3 node --import tsx --expose-gc bench/recorder.ts` for a quick look.
 */

import { cpus, loadavg } from "node:os";
import { FlightRecorder } from "../src/drivers/modbus/recorder.ts";
import { startSlave } from "../test/helpers/modbus-slave.ts";
import { measurePolls, tcpUnitsToml } from "./lib/modbus-polls.ts";
import { recordResults, round, table } from "./lib/results.ts";

const DURATION_S = Number(process.env.DURATION_S ?? 4);
const ROUNDS = 4;
const UNITS = 50;
function run(port: number, frames: number): Promise<{ pollsPerS: number; cpuUsPerPoll: number }> {
  return measurePolls(tcpUnitsToml(port, UNITS, 0.01), DURATION_S, `[modbus.recorder]\nframes = ${frames}\n`);
}

/** Heap bytes per port of a full ring (64 frames of `frameBytes`) plus one unit's statistics. */
function bytesPerPort(frameBytes: number, capacity = 64): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  const n = 1000;
  const frame = new Uint8Array(frameBytes).map((_, i) => i);
  // the ring lives in typed arrays: their backing stores count as arrayBuffers, not heap
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  gc?.();
  const before = used();
  const recs: FlightRecorder[] = [];
  for (let i = 0; i < n; i++) {
    const r = new FlightRecorder(`tcp:10.0.0.${i}:502`, capacity, Date.now);
    for (let f = 0; f < capacity; f++) r.frame(f % 2 ? "rx" : "tx", frame);
    r.outcome(1, 12.5);
    recs.push(r);
  }
  gc?.();
  const after = used();
  if (recs.length !== n) throw new Error("unreachable");
  return (after - before) / n;
}

/** The recorder's own work per poll (a request frame, its answer, the outcome), in µs, alone. */
function recorderUsPerPoll(): number {
  const r = new FlightRecorder("tcp:127.0.0.1:502", 64, Date.now);
  const req = Uint8Array.from([1, 3, 0, 0, 0, 10, 0xc5, 0xcd]);
  const resp = new Uint8Array(25).map((_, i) => i);
  const n = 1_000_000;
  for (let i = 0; i < 100_000; i++) r.frame("tx", req);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    r.frame("tx", req);
    r.frame("rx", resp);
    r.outcome(1, 12.5);
  }
  return ((performance.now() - t0) * 1000) / n;
}

async function main(): Promise<void> {
  const slave = await startSlave({ tcp: true, units: Array.from({ length: UNITS }, (_, i) => i + 1) });
  const on: { pollsPerS: number; cpuUsPerPoll: number }[] = [];
  const off: typeof on = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      on.push(await run(slave.tcpPort!, 64));
      off.push(await run(slave.tcpPort!, 0));
    }
  } finally {
    await slave.stop();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // the least disturbed round of each: other processes on the machine only ever add CPU time
  const cpuOn = Math.min(...on.map((x) => x.cpuUsPerPoll));
  const cpuOff = Math.min(...off.map((x) => x.cpuUsPerPoll));
  const pollsOn = mean(on.map((x) => x.pollsPerS));
  const pollsOff = mean(off.map((x) => x.pollsPerS));
  const own = recorderUsPerPoll();
  const typical = bytesPerPort(25);
  const md = `## Modbus flight recorder (bench/recorder.ts)

The \`modbus\` component polling ${UNITS} units of one pymodbus TCP slave on loopback (10 holding
registers each, every device due every 10 ms), with the recorder at its default ring (64 frames per
port) and switched off (\`modbus.recorder.frames = 0\`), ${ROUNDS} alternated rounds of ${DURATION_S} s:
polls/s the mean, CPU (this process's user + system per completed poll) the least of the rounds,
since load from other processes only adds to it (${process.version}).

${table(
  ["", "polls/s", "CPU µs per poll", "vs off"],
  [
    ["recorder on (64 frames)", round(pollsOn), round(cpuOn), `${round(cpuOn / cpuOff)}×`],
    ["recorder off", round(pollsOff), round(cpuOff), "1×"],
  ],
)}

Load average when this ran: ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores (the machine is shared: absolute figures move with it; compare rows of one run).

The recorder's own work per poll measured alone (a request frame, its answer and the outcome, 10⁶
times): ${round(own)} µs, ${round((own / cpuOff) * 100)} % of the driver's CPU per poll without it. The
A/B rows above move with the machine's load (the slave and the driver share its cores); this
figure does not.

Memory per port of a full ring (64 preallocated 256-byte frame slots with their times, so the
same whatever the frames' sizes) and one unit's statistics, heap and array buffers after GC over
1,000 recorders: ${round(typical / 1024)} KiB.
`;
  recordResults(
    "modbus-recorder",
    {
      "modbus.recorder_cpu_us_per_poll": { value: cpuOn, unit: "µs" },
      "modbus.recorder_off_cpu_us_per_poll": { value: cpuOff, unit: "µs" },
      "modbus.recorder_cpu_ratio": { value: cpuOn / cpuOff, unit: "×" },
      "modbus.recorder_own_us_per_poll": { value: own, unit: "µs" },
      "modbus.recorder_kib_per_port": { value: typical / 1024, unit: "KiB" },
    },
    md,
  );
  console.log(md);
}

await main();
