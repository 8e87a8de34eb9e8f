/**
 * The README's worked example, taken from the README itself: a 1 Hz sensor through its flow
 * (aggregate 60 s + deadband + route) for an hour on a fake clock sends at least 10× fewer bytes
 * upstream than raw, on the topic the README says.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { parseFlow } from "../../src/flows/config.ts";
import { Flow } from "../../src/flows/flow.ts";
import { MapKeyValue } from "../../src/flows/types.ts";

it("README: deadband + 60 s aggregation cut a 1 Hz sensor's upstream bytes by more than 10x", async () => {
  const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Cutting a sensor's upstream traffic"));
  const toml = /```toml\n([^`]*)```/.exec(section)?.[1];
  assert.ok(toml, "the example's flow file");
  const flow = await Flow.load(
    parseFlow(toml, "/x/env-reduce/flow.toml", "env-reduce", { params: {}, mapper: {} }),
    {
      mapper: new MapKeyValue(),
      scriptStore: () => new MapKeyValue(),
      limits: { timeoutMs: 100, memoryBytes: 1 << 26 },
      log: () => () => {},
    },
  );
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const topic = "sensors/sensor1/raw";
  let raw = 0;
  let up = 0;
  const topics = new Set<string>();
  for (let s = 0; s < 3600; s++) {
    // a slow drift with ±0.1 noise at 0.1 resolution
    const v = Math.round((21 + s / 3600 + ((s * 7919) % 3) / 10 - 0.1) * 10) / 10;
    const payload = new TextEncoder().encode(JSON.stringify({ temperature: v }));
    raw += topic.length + payload.length;
    const out = [...flow.onMessage({ topic, payload, time: new Date(t0 + s * 1000) }).out];
    for (const i of flow.intervals())
      out.push(...flow.onInterval(i.index, new Date(t0 + (s + 1) * 1000)).out);
    for (const m of out) {
      up += m.topic.length + m.payload.length;
      topics.add(m.topic);
    }
  }
  assert.deepEqual([...topics], ["te/device/sensor1///m/environment"]);
  assert.ok(up > 0 && raw / up > 10, `raw ${raw} B, upstream ${up} B: ${(raw / up).toFixed(1)}x`);
});
