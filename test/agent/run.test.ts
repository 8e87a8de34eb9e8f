import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import mqtt from "mqtt";
import { BUILTIN_OPERATIONS } from "../../src/agent/workflows/builtin.ts";
import { run } from "../../src/app/run.ts";
import { loadConfig } from "../../src/config/store.ts";
import { log } from "../helpers/agent-env.ts";
import { freePort, waitFor } from "../helpers/ports.ts";

describe("ledge run with the agent", () => {
  it("announces the main device's capabilities out of the box, reports health, serves entities and system measurements", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ledge-run-agent-"));
    const mqttPort = await freePort();
    const httpPort = await freePort();
    const config = loadConfig(dir, {}).with({
      "data.path": join(dir, "data"),
      "mqtt.bind.port": mqttPort,
      "http.bind.port": httpPort,
      "run.components": ["api", "agent"],
      "agent.monitor.interval_s": 1,
    });
    const running = await run(config, [], log);
    const client = await mqtt.connectAsync({ host: "127.0.0.1", port: mqttPort });
    try {
      const seen = new Map<string, string>();
      client.on("message", (t, p) => seen.set(t, p.toString()));
      await client.subscribeAsync("te/#");
      for (const op of BUILTIN_OPERATIONS)
        await waitFor(`capability ${op}`, () => seen.get(`te/device/main///cmd/${op}`));
      const health = await waitFor("agent health", () =>
        seen.get("te/device/main/service/ledge-agent/status/health"),
      );
      assert.equal(JSON.parse(health).status, "up");
      const system = JSON.parse(
        await waitFor("system measurement", () => seen.get("te/device/main///m/system"), 5000),
      );
      assert.equal(typeof system.memory.used_percent, "number");
      assert.equal(typeof system.cpu.load1, "number");
      const entities = await waitFor("entities", async () => {
        const list = (await (await fetch(`http://127.0.0.1:${httpPort}/te/v1/entities`)).json()) as {
          "@topic-id": string;
        }[];
        return list.some((e) => e["@topic-id"] === "device/main/service/ledge-agent") ? list : undefined;
      });
      assert.ok(
        entities.some((e) => e["@topic-id"] === "device/main//"),
        JSON.stringify(entities),
      );
    } finally {
      await client.endAsync();
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
