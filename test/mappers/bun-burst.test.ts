import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import mqtt from "mqtt";
import { ROOT } from "../helpers/targets-bin.ts";

const BUN = join(ROOT, "node_modules/.bin/bun");
const N = 20_000;

// The binaries run on Bun, whose stack is smaller than Node's. mqemitter drains its backlog from
// the delivery callback, so a LocalBus that completed deliveries synchronously recursed once per
// queued message and lost messages in a burst; it completes them asynchronously now.
it("a burst of measurements through the c8y mapper on Bun's in-process bus arrives complete", {
  skip: !existsSync(BUN) && "bun not installed",
}, async () => {
  const proc = spawn(BUN, [join(ROOT, "test/helpers/mappers-bun-server.ts")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  let overflowed: () => void = () => {};
  const overflow = new Promise<void>((resolve) => {
    overflowed = resolve;
  });
  proc.stderr.on("data", (d) => {
    err += d;
    if (/ ERROR /.test(err)) overflowed(); // a lost message is logged at error level
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      proc.stdout.on("data", (d) => {
        out += d;
        const m = /ready (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      proc.once("exit", () => reject(new Error(`bun server exited: ${err}`)));
    });
    const sub = await mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 0 });
    let got = 0;
    const all = new Promise<void>((resolve) =>
      sub.on("message", () => {
        if (++got === N) resolve();
      }),
    );
    await sub.subscribeAsync("c8y/measurement/measurements/create", { qos: 0 });
    for (let i = 0; i < N; i++)
      pub.publish("te/device/main///m/env", `{"t":${i},"time":1701949168}`, { qos: 0 });
    const crashed = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, crashed, overflow, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, 200)); // what was still in flight when it overflowed
    await pub.endAsync(true);
    await sub.endAsync(true);
    assert.equal(got, N, `delivered ${got} of ${N}; stderr: ${err.split("\n").slice(0, 3).join(" / ")}`);
  } finally {
    proc.kill("SIGKILL");
  }
});
