/** Flow files (TEDGE-FACTS §10.1, §10.2): discovery, names, keys, parameters, loop protection. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { flowName, parseFlow } from "../../src/flows/config.ts";
import { findFlowFiles } from "../../src/flows/discover.ts";
import { Flow } from "../../src/flows/flow.ts";
import { substitute } from "../../src/flows/params.ts";
import { MapKeyValue } from "../../src/flows/types.ts";
import { flowsTree } from "../helpers/flows.ts";

const vars = { params: { topic: "t/x", n: 3, obj: { a: [1, 2] } }, mapper: { device: { id: "d1" } } };
const parse = (text: string) => parseFlow(text, "/f/my/flow.toml", "my", vars);

describe("flow files", () => {
  it("every .toml under the dir, recursively, but params.toml; names drop .toml and a trailing /flow", () => {
    const { flowsDir } = flowsTree({
      "a.toml": "",
      "b/flow.toml": "",
      "b/params.toml": "",
      "b/params.toml.template": "",
      "c/d/e.toml": "",
      "c/x.toml.disabled": "",
      "c/main.js": "",
    });
    const files = findFlowFiles(flowsDir);
    assert.deepEqual(
      files.map((f) => flowName(flowsDir, f)),
      ["a", "b", "c/d/e"],
    );
  });

  const rows: [string, string, unknown][] = [
    [
      "defaults: output on each message's own topic, errors on te/error, no loops",
      'input.mqtt.topics = ["a"]',
      {
        inputs: [{ kind: "mqtt", topics: ["a"] }],
        output: { kind: "mqtt" },
        errors: { kind: "mqtt", topic: "te/error" },
        expectLoop: false,
        steps: [],
      },
    ],
    [
      "[[input.mqtt]] tables, forced output topic, errors to a file",
      '[[input.mqtt]]\ntopics = ["a"]\n[[input.mqtt]]\ntopics = ["b/+"]\n[output.mqtt]\ntopic = "o"\n[errors.file]\npath = "err.log"',
      {
        inputs: [
          { kind: "mqtt", topics: ["a"] },
          { kind: "mqtt", topics: ["b/+"] },
        ],
        output: { kind: "mqtt", topic: "o" },
        errors: { kind: "file", path: "/f/my/err.log" },
        expectLoop: false,
        steps: [],
      },
    ],
    [
      "steps: builtin or script (relative to the flow file), step config over flow config, interval",
      'config = { a = 1, b = 2 }\nsteps = [{ builtin = "set-topic", config = { b = 3 } }, { script = "../lib/s.js", interval = "30s" }]',
      {
        inputs: [],
        output: { kind: "mqtt" },
        errors: { kind: "mqtt", topic: "te/error" },
        expectLoop: false,
        steps: [
          { source: { builtin: "set-topic" }, config: { a: 1, b: 3 }, intervalMs: 1000 },
          { source: { script: "/f/lib/s.js" }, config: { a: 1, b: 2 }, intervalMs: 30000 },
        ],
      },
    ],
    [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: flow files write ${params.*} placeholders
      "${params.*} takes the parameter's type when whole, concatenates in strings; ${mapper.*} too",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a flow file's text
      'input.mqtt.topics = ["${params.topic}/${mapper.device.id}"]\nconfig = { n = "${params.n}", o = "${params.obj}", s = "n=${params.n}" }\nsteps = [{ builtin = "x", interval = "${params.n}" }]',
      {
        inputs: [{ kind: "mqtt", topics: ["t/x/d1"] }],
        output: { kind: "mqtt" },
        errors: { kind: "mqtt", topic: "te/error" },
        expectLoop: false,
        steps: [{ source: { builtin: "x" }, config: { n: 3, o: { a: [1, 2] }, s: "n=3" }, intervalMs: 3000 }],
      },
    ],
    [
      "file and process inputs: topic defaults to the path / command, relative paths from the flow's dir",
      '[input.file]\npath = "data.log"\n[input.process]\ncommand = "./read.sh --all"\ninterval = "5m"',
      {
        inputs: [
          { kind: "file", path: "/f/my/data.log", topic: "data.log", intervalMs: undefined },
          {
            kind: "process",
            command: "./read.sh --all",
            topic: "./read.sh --all",
            intervalMs: 300000,
            cwd: "/f/my",
          },
        ],
        output: { kind: "mqtt" },
        errors: { kind: "mqtt", topic: "te/error" },
        expectLoop: false,
        steps: [],
      },
    ],
  ];
  for (const [name, text, want] of rows)
    it(name, () => {
      const { name: _n, file: _f, version: _v, description: _d, tags: _t, ...got } = parse(text);
      assert.deepEqual(got, want);
    });

  it("mistakes are errors naming the file and key", () => {
    assert.throws(() => parse("steps = 3"), /\/f\/my\/flow.toml: steps must be an array of tables/);
    assert.throws(
      () => parse('steps = [{ script = "x.py" }]'),
      /steps\[0\].script: 'x.py' is not a .js, .mjs or .ts file/,
    );
    assert.throws(() => parse('steps = [{ builtin = "a", script = "b.js" }]'), /either builtin or script/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a flow file's text
    assert.throws(() => parse('input.mqtt.topics = ["${params.nope}"]'), /\$\{params.nope\} is not defined/);
    assert.throws(() => parse("input.kafka.topics = []"), /input.kafka: unknown input kind/);
    assert.throws(() => parse('steps = [{ builtin = "a", interval = "soon" }]'), /is not a duration/);
    assert.throws(() => parse("x = ["), /\/f\/my\/flow.toml: /);
  });

  it("substitute leaves text without placeholders alone", () => {
    assert.deepEqual(substitute({ a: ["$x", "{params.a}"] }, vars, "f"), { a: ["$x", "{params.a}"] });
  });
});

describe("loop protection (expect_loop)", () => {
  const load = (expectLoop: boolean) =>
    Flow.load(
      {
        ...parse(
          `expect_loop = ${expectLoop}\ninput.mqtt.topics = ["te/+/+/+/+/m/+"]\nsteps = [{ builtin = "rename", config.series = { a = "b" } }]`,
        ),
      },
      {
        mapper: new MapKeyValue(),
        scriptStore: () => new MapKeyValue(),
        limits: { timeoutMs: 100, memoryBytes: 1 << 26 },
        log: () => () => {},
      },
    );
  const msg = {
    topic: "te/device/main///m/x",
    payload: new TextEncoder().encode('{"a":1}'),
    time: new Date(0),
  };

  it("an output the flow would read back is dropped by default", async () => {
    assert.deepEqual((await load(false)).onMessage(msg).out, []);
  });

  it("expect_loop = true lets it through (positive control)", async () => {
    assert.deepEqual(
      (await load(true))
        .onMessage(msg)
        .out.map((p) => [p.topic, new TextDecoder().decode(p.payload), p.qos, p.retain]),
      [["te/device/main///m/x", '{"b":1}', 1, false]],
    );
  });
});
