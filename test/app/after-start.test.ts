/**
 * src/app/after-start.ts: the Bun binaries interpret the message path while traffic through the
 * embedded broker stays below `run.jit_rate`, and compile it once the rate holds for two seconds.
 */
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import mqtt from "mqtt";
import { nextPolicy } from "../../src/app/after-start.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { type Daemon, ensureBuilt, startBinary, target, tempConfigDir } from "../helpers/targets-bin.ts";

describe("nextPolicy", () => {
  const TABLE: [number, number, number, { over: number; compile: boolean }][] = [
    [100, 2000, 0, { over: 0, compile: false }],
    [2000, 2000, 0, { over: 1, compile: false }], // the threshold itself counts
    [2500, 2000, 1, { over: 2, compile: true }], // two samples in a row
    [1999, 2000, 1, { over: 0, compile: false }], // a dip starts over
  ];
  for (const [rate, threshold, before, want] of TABLE)
    it(`${rate} msg/s against ${threshold} after ${before} over → ${JSON.stringify(want)}`, () =>
      assert.deepEqual(nextPolicy(rate, threshold, before), want));
});

describe("run.jit_rate in the x64 binary", () => {
  const X64 = target("linux-x64");
  const COMPILING = /compiling the message path/;
  before(() => ensureBuilt(["linux-x64"]));

  /** `ledge run broker` with `jit_rate`, fed ~400 msg/s for 3.5 s; returns its output. */
  async function feed(jitRate: number): Promise<string> {
    const port = await freePort();
    const cfg = tempConfigDir(port);
    appendFileSync(`${cfg.dir}/ledge.toml`, `[run]\njit_rate = ${jitRate}\n`);
    let d: Daemon | undefined;
    try {
      d = startBinary(X64, ["--config-dir", cfg.dir, "run", "broker"]);
      const daemon = d;
      await waitFor("ledge running", () => /ledge running/.test(daemon.output()) || undefined, 30_000);
      const c = await mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 0 });
      const until = Date.now() + 3500;
      while (Date.now() < until) {
        for (let i = 0; i < 40; i++) c.publish("bench/x", "1");
        await new Promise((r) => setTimeout(r, 100));
      }
      await c.endAsync();
      if (jitRate <= 400)
        await waitFor("the JIT switch", () => COMPILING.test(daemon.output()) || undefined, 5000);
      return daemon.output();
    } finally {
      await d?.stop();
      cfg.cleanup();
    }
  }

  it("compiles once the rate holds above run.jit_rate", async () => {
    assert.match(await feed(100), COMPILING);
  });

  it("stays lean below it (control: same traffic, higher threshold)", async () => {
    assert.doesNotMatch(await feed(100_000), COMPILING);
  });
});
