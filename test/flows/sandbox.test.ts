/**
 * JavaScript steps in the QuickJS sandbox: thin-edge's documented examples run unchanged, the
 * step API (context stores, onStartup, globals), and the faults a user's step can have: it throws,
 * returns garbage, loops forever, allocates without bound. None of them takes the host down.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FlowTester } from "../../src/flows/tester.ts";
import { flowsTree, HIGH_TEMP_ALERT, SENSOR_REMAP, TEMP_AGGREGATOR } from "../helpers/flows.ts";

const LIMITS = { timeoutMs: 200, memoryBytes: 64 * 1024 * 1024 };
const TIME = new Date("2026-01-01T00:00:00Z");

async function tester(
  files: Record<string, string>,
  extra: { flow?: string; context?: Record<string, unknown>; limits?: typeof LIMITS } = {},
) {
  const { flowsDir } = flowsTree(files);
  const logs: string[] = [];
  const t = await FlowTester.open({
    flowsDir,
    flow: extra.flow && `${flowsDir}/${extra.flow}`,
    context: extra.context,
    finalOnInterval: false,
    time: TIME,
    base64Input: false,
    base64Output: false,
    limits: extra.limits ?? LIMITS,
    log: (l) => logs.push(l),
  });
  return { t, logs, flowsDir };
}

describe("thin-edge flow examples run unchanged (TEDGE-FACTS §10.7, §10.8)", () => {
  it("Example 1, sensor remap: [sensors/factory/zone1] {temp: 22.4} -> te/device/main///m/environment", async () => {
    const { t } = await tester(SENSOR_REMAP);
    assert.deepEqual(t.message('[sensors/factory/zone1] {"temp": 22.4}'), [
      '[te/device/main///m/environment] {"temperature":22.4}',
    ]);
    assert.deepEqual(t.message('[sensors/factory/zone1] {"temp": "warm"}'), []);
    t.close();
  });

  it("Example 5, 30 s aggregation with params.toml.template: 75.1, 87.3, 84.9 -> min/max/avg on the interval", async () => {
    const { t } = await tester(TEMP_AGGREGATOR);
    for (const v of [75.1, 87.3, 84.9])
      assert.deepEqual(t.message(`[te/device/main///m/environment] {"temperature": ${v}}`), []);
    assert.deepEqual(t.final(), [
      '[te/device/main///m/environment_agg] {"temperature":{"min":75.1,"max":87.3,"avg":82.43}}',
    ]);
    t.close();
  });

  it("Example 5 with params.toml over the template", async () => {
    const { t } = await tester({
      ...TEMP_AGGREGATOR,
      "temp-aggregator/params.toml": 'output_topic = "te/device/main///m/mine"\n',
    });
    t.message('[te/device/main///m/environment] {"temperature": 1}');
    assert.deepEqual(t.final(), ['[te/device/main///m/mine] {"temperature":{"min":1,"max":1,"avg":1}}']);
    t.close();
  });

  it("Example 2, high temperature alarm: raise at >= 70, clear with an empty payload", async () => {
    const { t } = await tester(HIGH_TEMP_ALERT);
    assert.deepEqual(t.message('[te/device/child1///m/environment] {"temperature": 71}'), [
      '[te/device/child1///a/temp_high] {"severity":"major","text":"Temperature is 71"}',
    ]);
    assert.deepEqual(t.message('[te/device/child1///m/environment] {"temperature": 20}'), [
      "[te/device/child1///a/temp_high] ",
    ]);
    t.close();
  });
});

describe("step API", () => {
  it("context.config/mapper/flow/script, onStartup through the rest of the flow, and the globals", async () => {
    const { t } = await tester({
      "api/flow.toml": `input.mqtt.topics = ["in"]\nconfig = { greeting = "hi", n = 1 }\n[[steps]]\nscript = "a.js"\nconfig = { n = 2 }\n[[steps]]\nscript = "b.js"\n`,
      "api/a.js": `export function onStartup(time, context) { context.flow.set("started", time.toISOString()); return { topic: "boot", payload: "up" }; }
export function onMessage(m, context) {
  const count = (context.script.get("count") ?? 0) + 1;
  context.script.set("count", count);
  context.mapper.set("last", { topic: m.topic });
  const bytes = new TextEncoder().encode("é");
  const r = new Uint8Array(4); crypto.getRandomValues(r);
  return { topic: "mid", payload: JSON.stringify({ c: context.config, count, started: context.flow.get("started"),
    utf8: Array.from(bytes), back: new TextDecoder().decode(bytes), uuid: crypto.randomUUID().length, qos: m.mqtt.qos,
    in: new TextDecoder().decode(m.payload), isDate: m.time instanceof Date, missing: context.flow.get("nope") }) };
}`,
      "api/b.js": `export function onMessage(m, context) { return [{ topic: "out/" + m.topic, payload: m.payload, mqtt: { qos: 0, retain: true } }, { topic: "keys", payload: JSON.stringify(context.mapper.keys()) }]; }`,
    });
    assert.deepEqual(t.startup(), ["[out/boot] up", '[keys] ["last"]'.replace('["last"]', "[]")]);
    const [first, keys] = t.message("[in] x");
    assert.equal(keys, '[keys] ["last"]');
    const body = JSON.parse((first ?? "").replace("[out/mid] ", ""));
    assert.deepEqual(body, {
      c: { greeting: "hi", n: 2 },
      count: 1,
      started: TIME.toISOString(),
      utf8: [0xc3, 0xa9],
      back: "é",
      uuid: 36,
      qos: 0,
      in: "x",
      isDate: true,
      missing: null,
    });
    assert.equal(JSON.parse((t.message("[in] y")[0] ?? "").replace("[out/mid] ", "")).count, 2);
    t.close();
  });

  it("a step returning a Uint8Array payload and an async onMessage", async () => {
    const { t } = await tester({
      "bin/flow.toml": `input.mqtt.topics = ["in"]\nsteps = [{ script = "s.mjs" }]\n`,
      "bin/s.mjs": `import { suffix } from "./lib.js";\nexport async function onMessage(m) { return { topic: "o" + suffix, payload: new Uint8Array([104, 105]) }; }`,
      "bin/lib.js": `export const suffix = "/lib";`,
    });
    assert.deepEqual(t.message("[in] x"), ["[o/lib] hi"]);
    t.close();
  });

  it("has no fs, net or process: the sandbox is QuickJS, not the host runtime", async () => {
    const { t } = await tester({
      "sb/flow.toml": `input.mqtt.topics = ["in"]\nsteps = [{ script = "s.js" }]\n`,
      "sb/s.js": `export function onMessage() { return { topic: "o", payload: [typeof process, typeof require, typeof fetch, typeof Bun].join(",") }; }`,
    });
    assert.deepEqual(t.message("[in] x"), ["[o] undefined,undefined,undefined,undefined"]);
    t.close();
  });
});

describe("faulty steps are stopped with an error and never take the host down", () => {
  const healthy = {
    "ok/flow.toml": `input.mqtt.topics = ["in"]\nsteps = [{ builtin = "set-topic", config = { topic = "ok" } }]\n`,
  };
  const bad = (body: string) => ({
    ...healthy,
    "z-bad/flow.toml": `input.mqtt.topics = ["in"]\nsteps = [{ script = "bad.js" }]\n`,
    "z-bad/bad.js": body,
  });

  it("a step that throws: that message goes to te/error, the flow and the others go on", async () => {
    const { t } = await tester(
      bad(
        `export function onMessage(m) { if (new TextDecoder().decode(m.payload) === "boom") throw new Error("boom!"); return { topic: "fine", payload: "1" }; }`,
      ),
    );
    assert.deepEqual(t.message("[in] boom"), [
      "[ok] boom",
      "[te/error] flow z-bad: step bad.js: Error: boom!",
    ]);
    assert.deepEqual(t.message("[in] calm"), ["[ok] calm", "[fine] 1"]);
    t.close();
  });

  it("a step that returns garbage: an error in place of its result, the other flows go on", async () => {
    const { t } = await tester(
      bad(`export function onMessage(m) { return [{ topic: "good", payload: "1" }, 42]; }`),
    );
    const out = t.message("[in] x");
    assert.equal(out[0], "[ok] x");
    assert.match(
      out[1] ?? "",
      /^\[te\/error\] flow z-bad: step bad.js: TypeError: a step must return null, a message or an array of messages; got number/,
    );
    assert.equal(out.length, 2);
    const { t: t3 } = await tester(
      bad(`export function onMessage(m) { return { topic: "x", payload: { a: 1 } }; }`),
    );
    assert.match(
      t3.message("[in] x")[1] ?? "",
      /payload of a message to 'x' must be a string or a Uint8Array/,
    );
    t3.close();
    const { t: t2 } = await tester(
      bad(
        `export function onMessage() { return [{ topic: "a/+", payload: "w" }, { topic: "fine", payload: "1", mqtt: { qos: 7 } }]; }`,
      ),
    );
    assert.deepEqual(t2.message("[in] x"), [
      "[ok] x",
      "[te/error] flow z-bad: step bad.js: returned a message to 'fine' with qos 7",
      "[te/error] flow z-bad: output: topic 'a/+' contains a wildcard (+ or #)",
    ]);
    t.close();
    t2.close();
  });

  it("a step that loops forever is interrupted after the time limit and its flow stopped; the others go on", async () => {
    const { t } = await tester(bad(`export function onMessage() { for (;;) {} }`));
    const start = Date.now();
    const out = t.message("[in] x");
    const took = Date.now() - start;
    assert.deepEqual(out, [
      "[ok] x",
      "[te/error] flow z-bad: step bad.js: step stopped: it ran longer than 200 ms",
    ]);
    assert.ok(took >= 200 && took < 2000, `interrupted after ${took} ms`);
    // stopped: the next message costs nothing and reaches only the healthy flow
    const t0 = Date.now();
    assert.deepEqual(t.message("[in] y"), ["[ok] y"]);
    assert.ok(Date.now() - t0 < 100);
    t.close();
  });

  it("a step that allocates without bound is stopped at the memory limit; the host keeps its memory", async () => {
    const { t } = await tester(
      bad(
        `const keep = []; export function onMessage() { for (;;) keep.push({ a: keep.length, b: "x" + keep.length }); }`,
      ),
      {
        limits: { timeoutMs: 30_000, memoryBytes: 64 * 1024 * 1024 },
      },
    );
    const rss = process.memoryUsage().rss;
    const out = t.message("[in] x");
    assert.equal(out[0], "[ok] x");
    assert.match(
      out[1] ?? "",
      /^\[te\/error\] flow z-bad: step bad.js: step stopped: it used more memory than 64 MiB$/,
    );
    assert.ok(process.memoryUsage().rss - rss < 256 * 1024 * 1024, "RSS grew by less than 256 MiB");
    assert.deepEqual(t.message("[in] y"), ["[ok] y"]);
    t.close();
  });

  it("one huge allocation is refused by QuickJS's own limit", async () => {
    const { t } = await tester(
      bad(`export function onMessage() { return { topic: "o", payload: "x".repeat(512 * 1024 * 1024) }; }`),
    );
    assert.deepEqual(t.message("[in] x"), [
      "[ok] x",
      "[te/error] flow z-bad: step bad.js: step stopped: it used more memory than 64 MiB",
    ]);
    t.close();
  });

  it("a script whose top level loops forever fails to load with the time limit, and does not hang", async () => {
    await assert.rejects(
      tester({
        "b/flow.toml": `input.mqtt.topics = ["in"]\nsteps = [{ script = "s.js" }]\n`,
        "b/s.js": "for (;;) {}\nexport function onMessage() {}",
      }),
      /b\/flow.toml: step stopped: it ran longer than 5000 ms/,
    );
  });

  it("a script that does not load is an error naming the file", async () => {
    await assert.rejects(
      tester({
        "b/flow.toml": `input.mqtt.topics = ["in"]\nsteps = [{ script = "s.js" }]\n`,
        "b/s.js": "export function nope() {}",
      }),
      /b\/flow.toml: the script does not export onMessage/,
    );
    await assert.rejects(
      tester({
        "b/flow.toml": `input.mqtt.topics = ["in"]\nsteps = [{ script = "s.js" }]\n`,
        "b/s.js": "export function onMessage( {",
      }),
      /b\/flow.toml: .*invalid property name/,
    );
  });
});

describe("the same limits hold under Bun (same WASM, same interrupt handler)", () => {
  it("a looping step and an allocating step are stopped, the process lives", () => {
    const bun = join(import.meta.dirname, "../../node_modules/.bin/bun");
    const r = spawnSync(bun, [join(import.meta.dirname, "limits-probe.ts")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split("\n").filter(Boolean), [
      "[te/error] flow loop: step s.js: step stopped: it ran longer than 200 ms",
      "[te/error] flow mem: step s.js: step stopped: it used more memory than 48 MiB",
      "alive",
    ]);
  });
});
