/**
 * Components in split processes (`ledge run broker` beside `ledge run mqtt-mapper`, a documented
 * setup), each a real `ledge` process: killing the component with SIGKILL again and again loses no
 * acknowledged message (persistent session, QoS 1, input acked after output), and a component
 * sent SIGTERM while its broker is gone exits within a bound.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import mqtt from "mqtt";
import { ledgeSpawn, tempConfig } from "../helpers/cli.ts";
import { canConnect, waitFor } from "../helpers/ports.ts";

const HEALTH = "te/device/main/service/ledge-mqtt-mapper/status/health";

function start(dir: string, args: string[]) {
  const proc = ledgeSpawn(["-c", dir, "run", ...args], { LEDGE_LOG_LEVEL: "warn" });
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  return { proc, output: () => out };
}

async function kill(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, "exit");
  proc.kill(signal);
  await exited;
}

describe("split processes: ledge run broker + ledge run mqtt-mapper", () => {
  const procs: ChildProcess[] = [];
  after(async () => {
    for (const p of procs) await kill(p, "SIGKILL");
  });

  async function setup() {
    const { dir, port } = await tempConfig({ "mqtt.cloud.prefix": "out" });
    const broker = start(dir, ["broker"]);
    procs.push(broker.proc);
    await waitFor("broker listening", () => canConnect(port).then((ok) => ok || undefined), 30_000);
    // the cloud side: a persistent QoS 1 subscriber on the mapper's output
    const seen = new Set<number>();
    let ups = 0;
    const observer = await mqtt.connectAsync({
      host: "127.0.0.1",
      port,
      clientId: `observer-${process.pid}`,
      clean: false,
      reconnectPeriod: 200,
    });
    observer.on("message", (topic, payload) => {
      if (topic === HEALTH) {
        if (JSON.parse(payload.toString()).status === "up") ups++;
        return;
      }
      seen.add(JSON.parse(payload.toString()).seq as number);
    });
    await observer.subscribeAsync(["out/#", HEALTH], { qos: 1 });
    const startMapper = async () => {
      const before = ups;
      const m = start(dir, ["mqtt-mapper"]);
      procs.push(m.proc);
      await waitFor("mapper up", () => ups > before || undefined, 30_000, 50);
      return m;
    };
    return { dir, port, broker, observer, seen, startMapper };
  }

  /**
   * Publishes `n` measurements at QoS 1 in `rounds` batches, calling `crash` part-way through each
   * batch; then checks that every one came out of the mapper.
   */
  async function flowWhileCrashing(
    s: Awaited<ReturnType<typeof setup>>,
    n: number,
    rounds: number,
    crash: () => Promise<void>,
  ) {
    const producer = await mqtt.connectAsync({ host: "127.0.0.1", port: s.port, reconnectPeriod: 200 });
    let seq = 0;
    for (let round = 0; round < rounds; round++) {
      const batch = Array.from({ length: n / rounds }, () => seq++);
      const sending = (async () => {
        for (const i of batch)
          await producer.publishAsync("te/device/main///m/env", JSON.stringify({ seq: i, t: 1 }), { qos: 1 });
      })();
      await waitFor(
        "part of the batch through",
        () => s.seen.size > seq - n / rounds / 2 || undefined,
        20_000,
        5,
      );
      await crash();
      await sending;
    }
    await waitFor("every message out", () => s.seen.size >= n || undefined, 30_000, 100).catch(() => {});
    await producer.endAsync();
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !s.seen.has(i));
    assert.deepEqual(
      missing.slice(0, 20),
      [],
      `${missing.length} of ${n} lost (${missing.slice(0, 40).join(",")})`,
    );
  }

  it("SIGKILL of the mapper, five times while messages flow: every acknowledged message comes out", async () => {
    const s = await setup();
    let mapper = await s.startMapper();
    await flowWhileCrashing(s, 1500, 5, async () => {
      await kill(mapper.proc, "SIGKILL");
      mapper = await s.startMapper();
    });
    await kill(mapper.proc, "SIGTERM");
    await s.observer.endAsync();
    await kill(s.broker.proc, "SIGTERM");
  });

  it("SIGKILL of the broker, three times while messages flow: every acknowledged message comes out", async () => {
    const s = await setup();
    const mapper = await s.startMapper();
    let broker = s.broker;
    await flowWhileCrashing(s, 900, 3, async () => {
      await kill(broker.proc, "SIGKILL");
      broker = start(s.dir, ["broker"]);
      procs.push(broker.proc);
    });
    await kill(mapper.proc, "SIGTERM");
    await s.observer.endAsync();
    await kill(broker.proc, "SIGTERM");
  });

  it("SIGTERM to the mapper while its broker is gone: it exits within 6 s", async () => {
    const s = await setup();
    const mapper = await s.startMapper();
    await s.observer.endAsync(true);
    await kill(s.broker.proc, "SIGKILL");
    await new Promise((r) => setTimeout(r, 300)); // the mapper notices and starts reconnecting
    const t0 = Date.now();
    const exited = once(mapper.proc, "exit");
    mapper.proc.kill("SIGTERM");
    const timer = setTimeout(() => mapper.proc.kill("SIGKILL"), 20_000);
    const [code, signal] = (await exited) as [number | null, string | null];
    clearTimeout(timer);
    const took = Date.now() - t0;
    assert.equal(signal, null, `needed SIGKILL after ${took} ms: ${mapper.output().slice(-1500)}`);
    assert.equal(code, 0);
    assert.ok(took < 6000, `took ${took} ms`);
  });
});
