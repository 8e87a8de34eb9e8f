/**
 * Runs the socket contract suite with whatever runtime executes this file (Bun: Bun.listen /
 * Bun.connect; Node: node:net) and prints one JSON line per check, then a summary line; exit code
 * 1 when any failed. test/bus/net.test.ts spawns `bun` on it.
 */
import { selectNet } from "../../src/bus/net/select.ts";
import { createPki } from "../helpers/tls-pki.ts";
import { netChecks } from "./net-suite.ts";

async function main(): Promise<number> {
  const net = await selectNet();
  const pki = createPki();
  let passed = 0;
  let failed = 0;
  try {
    for (const c of netChecks(net, net.kind, () => pki)) {
      const t0 = Date.now();
      try {
        await c.run();
        passed++;
        console.log(JSON.stringify({ name: c.name, ok: true, kind: net.kind, ms: Date.now() - t0 }));
      } catch (e) {
        failed++;
        console.log(
          JSON.stringify({ name: c.name, ok: false, kind: net.kind, error: String((e as Error).stack ?? e) }),
        );
      }
    }
  } finally {
    pki.cleanup();
  }
  console.log(JSON.stringify({ done: true, kind: net.kind, passed, failed }));
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.log(JSON.stringify({ done: true, fatal: String(e.stack ?? e) }));
    process.exit(1);
  },
);
