/**
 * After an uncaught exception `ledge run` is in an unknown state: it logs the error, reports its
 * components `down` and exits non-zero so the supervisor restarts it (README, "Running as a service").
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import mqtt from "mqtt";
import { tempConfig } from "../helpers/cli.ts";
import { waitFor } from "../helpers/ports.ts";

const ROOT = join(import.meta.dirname, "..", "..");

function runWithFault(dir: string, crashAfterMs: number | undefined) {
  const preload = crashAfterMs === undefined ? [] : ["--import", join(ROOT, "test/helpers/crash-after.mjs")];
  const child = spawn(
    process.execPath,
    ["--import", "tsx", ...preload, join(ROOT, "src/cli/main.ts"), "--config-dir", dir, "run"],
    {
      cwd: ROOT,
      env: { ...process.env, LEDGE_TEST_CRASH_AFTER_MS: String(crashAfterMs) },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, exited, stderr: () => stderr };
}

describe("ledge run after an uncaught exception", () => {
  it("logs it, publishes health down for its components and exits non-zero", async () => {
    const { dir, port } = await tempConfig({ "run.components": ["api"] });
    const run = runWithFault(dir, 4000);
    const health = new Map<string, string>();
    const client = await waitFor("broker up", () =>
      mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 0 }).catch(() => undefined),
    );
    client.on("message", (t, p) => health.set(t, JSON.parse(p.toString()).status));
    await client.subscribeAsync("te/device/main/service/+/status/health");
    const topic = "te/device/main/service/ledge-api/status/health";
    await waitFor("api up", () => health.get(topic) === "up" || undefined);
    const code = await run.exited;
    assert.equal(code, 70);
    assert.equal(health.get(topic), "down", "down was published before the process ended");
    assert.match(run.stderr(), /ERROR ledge uncaught exception, exiting .*injected fault/);
    client.end(true);
  });

  it("positive control: without the fault, ledge keeps running", async () => {
    const { dir, port } = await tempConfig({ "run.components": ["api"] });
    const run = runWithFault(dir, undefined);
    try {
      const client = await waitFor("broker up", () =>
        mqtt.connectAsync({ host: "127.0.0.1", port, reconnectPeriod: 0 }).catch(() => undefined),
      );
      client.end(true);
      const early = await Promise.race([
        run.exited,
        new Promise((r) => setTimeout(() => r("running"), 2500)),
      ]);
      assert.equal(early, "running");
    } finally {
      run.child.kill("SIGTERM");
      assert.equal(await run.exited, 0);
    }
  });
});
