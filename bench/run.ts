/**
 * `npm run bench`: every benchmark, one child process each (so one's heap does not skew another's),
 * in order. Each writes its figures to bench/results.json and its section of bench/RESULTS.md.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const BENCHES = [
  // one line per benchmark file
  "footprint.ts",
  "footprint-client.ts",
  "footprint-bridge.ts",
  "broker.ts",
  "c8y.ts",
  "agent.ts",
  "modbus.ts",
  "recorder.ts",
  "serial.ts",
  "batch.ts",
  "bridge.ts",
  "bridge-compact.ts",
  "console.ts",
  "flows.ts",
];

const only = process.argv.slice(2);
let failed = 0;
for (const file of BENCHES) {
  if (only.length && !only.some((o) => file.startsWith(o))) continue;
  process.stdout.write(`\n== bench/${file}\n`);
  const r = spawnSync(process.execPath, ["--import", "tsx", "--expose-gc", join(here, file)], {
    stdio: "inherit",
  });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench/${file} failed (exit ${r.status})\n`);
  }
}
process.exitCode = failed ? 1 : 0;
