/**
 * A registration flood does not starve health checks (issue 12, point 5): `ledge run` with the api
 * in its own process takes 5,000 registrations at once over MQTT while a health check
 * (`cmd/health/check` → `status/health`, README "Health") is sent every 20 ms; each must be answered
 * within a generous liveness bound. Not a benchmark (bench/api.ts has the latency figures).
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { ledgeSpawn, tempConfig } from "../helpers/cli.ts";
import { registrationFlood } from "../helpers/flood.ts";
import { canConnect, waitFor } from "../helpers/ports.ts";

const HEALTH = "te/device/main/service/ledge-api/status/health";
const CHECK = "te/device/main/service/ledge-api/cmd/health/check";
/** On a loaded 2-core CI machine; bench/api.ts measures p99 well under it. */
const BOUND_MS = 2000;
const N = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a registration flood does not starve health checks (ledge run api, its own process)", () => {
  let proc: ChildProcess;
  let output = "";
  let dataDir: string;
  let port: number;
  let prober: MqttClient;
  let answers = 0;

  /** ms from a health check to the next `status/health` (Infinity past 10 s). */
  async function probe(): Promise<number> {
    const seen = answers;
    const t0 = performance.now();
    await prober.publishAsync(CHECK, "{}", { qos: 0 });
    while (answers === seen && performance.now() - t0 < 10_000) await sleep(2);
    return answers === seen ? Number.POSITIVE_INFINITY : performance.now() - t0;
  }

  before(async () => {
    const cfg = await tempConfig({ "run.components": ["api"] });
    port = cfg.port;
    dataDir = join(cfg.dir, "data");
    proc = ledgeSpawn(["-c", cfg.dir, "run"], { LEDGE_LOG_LEVEL: "warn" });
    proc.stdout?.on("data", (d) => (output += d));
    proc.stderr?.on("data", (d) => (output += d));
    await waitFor("broker listening", () => canConnect(port).then((ok) => ok || undefined), 30_000);
    prober = await mqtt.connectAsync({ host: "127.0.0.1", port, clientId: `probe-${process.pid}` });
    prober.on("message", () => answers++);
    await prober.subscribeAsync(HEALTH, { qos: 0 });
    await waitFor("health up", () => answers > 0 || undefined, 30_000);
  });

  after(async () => {
    await prober?.endAsync(true);
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGCONT");
      const exited = once(proc, "exit");
      proc.kill("SIGTERM");
      await exited;
    }
  });

  it("positive control: a probe to a process that cannot run misses the bound", async () => {
    assert.ok((await probe()) < BOUND_MS, "answered when idle");
    proc.kill("SIGSTOP");
    // how long the process stays stopped, not a wait for readiness
    const resume = setTimeout(() => proc.kill("SIGCONT"), BOUND_MS + 500);
    try {
      const ms = await probe();
      assert.ok(ms > BOUND_MS, `answered in ${ms} ms while stopped`);
    } finally {
      clearTimeout(resume);
      proc.kill("SIGCONT");
    }
  });

  it(`each health check during a flood of ${N} registrations is answered within ${BOUND_MS} ms`, async () => {
    const stored = (): number => {
      const count = (f: string) => {
        try {
          return readFileSync(join(dataDir, f), "utf8").match(/"topicId":"device\/flood/g)?.length ?? 0;
        } catch {
          return 0;
        }
      };
      return count("entities.json.journal") + count("entities.json");
    };
    // raw MQTT written in one go: the test process stays idle to time the health checks, and the
    // broker gets all of it at once, the harshest case
    const flood = registrationFlood(N, "flood", `flood-${process.pid}`);
    const flooder = connect(port, "127.0.0.1");
    flooder.resume(); // the PUBACKs
    await once(flooder, "connect");
    const latencies: number[] = [];
    let flooding = true;
    flooder.write(flood); // first: every health check goes out while the flood is on its way
    const probing = (async () => {
      while (flooding) {
        latencies.push(await probe());
        await sleep(20);
      }
    })();
    try {
      await waitFor("all registrations stored", () => stored() >= N || undefined, 120_000, 50);
    } finally {
      flooding = false;
      await probing;
      flooder.destroy();
    }
    const worst = Math.max(...latencies);
    assert.ok(latencies.length >= 2, `${latencies.length} health checks during the flood`);
    assert.ok(
      worst < BOUND_MS,
      `slowest health check ${Math.round(worst)} ms; all: ${latencies.map(Math.round).join(" ")}\n${output}`,
    );
  });
});
