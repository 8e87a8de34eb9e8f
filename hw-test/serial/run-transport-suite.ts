/**
 * Runs the serial transport suite with whatever runtime executes this file (Bun: the termios /
 * bun:ffi transport; Node: serialport) and prints one JSON line per check:
 *   {"name":...,"ok":true,"ms":12} / {"name":...,"ok":false,"error":"..."}
 * then `{"done":true,"passed":n,"failed":n}`; exit code 1 when any failed. Used by
 * test/drivers/serial-transport.test.ts (spawns `bun` on it) and by hand on a Raspberry Pi:
 *   LEDGE_TEST_SERIAL_PORT=/dev/ttyUSB0 LEDGE_TEST_SERIAL_LOOPBACK=1 bun hw-test/serial/run-transport-suite.ts
 */
import { isBun, openSerial } from "../../src/drivers/common/serial/open.ts";
import { createPtyPair } from "./pty-pair.ts";
import { type Check, ptyChecks, realPortChecks } from "./transport-suite.ts";

async function main(): Promise<number> {
  const kind = isBun() ? "bun" : "node";
  const real = process.env.LEDGE_TEST_SERIAL_PORT;
  const pair = process.env.LEDGE_TEST_NO_PTY ? undefined : await createPtyPair();
  const checks: Check[] = [
    ...(pair ? ptyChecks(openSerial, kind, pair) : []),
    ...(real ? realPortChecks(openSerial, real, process.env.LEDGE_TEST_SERIAL_LOOPBACK === "1") : []),
  ];
  let passed = 0;
  let failed = 0;
  try {
    for (const c of checks) {
      const t0 = Date.now();
      try {
        await c.run();
        passed++;
        console.log(JSON.stringify({ name: c.name, ok: true, kind, ms: Date.now() - t0 }));
      } catch (e) {
        failed++;
        console.log(
          JSON.stringify({ name: c.name, ok: false, kind, error: String((e as Error).stack ?? e) }),
        );
      }
    }
  } finally {
    await pair?.close();
  }
  console.log(JSON.stringify({ done: true, kind, passed, failed }));
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.log(JSON.stringify({ done: true, fatal: String(e.stack ?? e) }));
    process.exit(1);
  },
);
