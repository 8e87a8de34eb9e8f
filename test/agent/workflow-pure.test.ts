// biome-ignore-all lint/suspicious/noTemplateCurlyInString: thin-edge templates are `${…}` inside plain strings
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Handlers, parseWorkflow } from "../../src/agent/workflows/definition.ts";
import {
  applyUpdate,
  awaitOutcome,
  excerpt,
  iterateOutcome,
  resultOutcome,
  scriptOutcome,
  timeoutOutcome,
} from "../../src/agent/workflows/step.ts";
import { commandArgv, expand, expandValue, splitCommandLine } from "../../src/api/template.ts";

const msg = {
  topic: "te/device/main///cmd/firmware_update/c8y-mapper-42",
  payload: {
    status: "init",
    name: "fw",
    xs: [1, 2, 3],
    nested: { a: { b: "deep" } },
    obj: { k: 1 },
    "@next": { item: { operation: "x" } },
  },
};

describe("templates (thin-edge §1.4)", () => {
  const rows: [string, string, string][] = [
    ["${.topic} is the whole topic", "${.topic}", msg.topic],
    ["${.topic.root_prefix}", "${.topic.root_prefix}", "te"],
    ["${.topic.target} is the entity part", "${.topic.target}", "device/main//"],
    ["${.topic.operation}", "${.topic.operation}", "firmware_update"],
    ["${.topic.cmd_id}", "${.topic.cmd_id}", "c8y-mapper-42"],
    ["a payload string is substituted raw", "${.payload.name}", "fw"],
    ["nested paths", "${.payload.nested.a.b}", "deep"],
    ["array index", "${.payload.xs[1]}", "2"],
    ["negative index counts from the end", "${.payload.xs[-1]}", "3"],
    ["objects are substituted as JSON", "${.payload.obj}", '{"k":1}'],
    ["keys with @", "${.payload.@next.item.operation}", "x"],
    ["an unknown payload path is empty", "a${.payload.nope}b", "ab"],
    ["an unknown root is left verbatim", "${.foo.bar}", "${.foo.bar}"],
    [
      "literals and expressions mix in one token",
      "pre-${.payload.name}-mid-${.payload.xs[0]}-post",
      "pre-fw-mid-1-post",
    ],
  ];
  for (const [name, t, want] of rows) it(name, () => assert.equal(expand(t, msg), want));

  it("${.} is the whole message as JSON", () =>
    assert.deepEqual(JSON.parse(expand("${.}", msg)), { topic: msg.topic, payload: msg.payload }));
  it("a lone expression as a value keeps its JSON type (input = ...)", () =>
    assert.deepEqual(expandValue("${.payload.obj}", msg), { k: 1 }));
  it("the command line is split with shell quoting before expansion", () =>
    assert.deepEqual(commandArgv('sh -c \'echo "${.payload.name}" x\' "a b" c\\ d', msg), {
      ok: true,
      value: ["sh", "-c", 'echo "fw" x', "a b", "c d"],
    }));
  it("an open quote is an error", () => assert.equal(splitCommandLine("echo 'oops").ok, false));
});

const h = (x: Partial<Handlers> = {}): Handlers => ({ onExit: [], onStdout: [], ...x });
const out = (json: unknown) => `noise\n:::begin-tedge:::\n${JSON.stringify(json)}\n:::end-tedge:::\nmore`;

describe("script outcome (thin-edge ExitHandlers)", () => {
  it("only the :::begin-tedge::: excerpt counts", () => assert.equal(excerpt(out({ a: 1 })), '{"a":1}'));
  it("exit 0 with on_success: handler status, stdout JSON merged", () =>
    assert.deepEqual(
      scriptOutcome("s", h({ onSuccess: { status: "next" } }), {
        kind: "exit",
        code: 0,
        stdout: out({ status: "failed", foo: "bar" }),
      }),
      {
        status: "next",
        merge: { foo: "bar" },
      },
    ));
  it("exit 0 with on_success and invalid JSON: the handler alone", () =>
    assert.deepEqual(
      scriptOutcome("s", h({ onSuccess: { status: "next" } }), {
        kind: "exit",
        code: 0,
        stdout: ":::begin-tedge:::\n{oops\n:::end-tedge:::",
      }),
      { status: "next" },
    ));
  it("exit 0 without on_success and invalid JSON fails with the parse error", () => {
    const u = scriptOutcome("s", h(), {
      kind: "exit",
      code: 0,
      stdout: ":::begin-tedge:::\n{oops\n:::end-tedge:::",
    });
    assert.equal(u.status, "failed");
    assert.match(u.reason!, /Program `s` stdout is not valid JSON/);
  });
  it("exit 0 without on_success and no excerpt fails", () =>
    assert.match(
      scriptOutcome("s", h(), { kind: "exit", code: 0, stdout: "hello", stderr: "" }).reason!,
      /contains no :::tedge::: content/,
    ));
  it("exit 0 without on_success: the script's status decides", () =>
    assert.deepEqual(
      scriptOutcome("s", h(), { kind: "exit", code: 0, stdout: out({ status: "next", x: 1 }) }),
      { status: "next", merge: { x: 1 } },
    ));
  it("on_stdout restricts the statuses a script may choose", () =>
    assert.equal(
      scriptOutcome("s", h({ onStdout: ["a"] }), {
        kind: "exit",
        code: 0,
        stdout: out({ status: "b", stderr: "" }),
      }).status,
      "failed",
    ));
  it("an exit code with its on_exit handler: handler status, script reason wins, fields merged", () =>
    assert.deepEqual(
      scriptOutcome("s", h({ onExit: [{ from: 1, to: 1, target: { status: "exit1", reason: "static" } }] }), {
        kind: "exit",
        code: 1,
        stdout: out({ status: "failed", reason: "expected", foo: "bar" }),
      }),
      { status: "exit1", reason: "expected", merge: { foo: "bar" } },
    ));
  it("an exit code in an on_exit range", () =>
    assert.equal(
      scriptOutcome("s", h({ onExit: [{ from: 2, to: 5, target: { status: "r" } }] }), {
        kind: "exit",
        code: 4,
        stdout: "",
      }).status,
      "r",
    ));
  it("another non-zero exit goes to on_error with the exit code as reason", () =>
    assert.deepEqual(
      scriptOutcome("s", h({ onError: { status: "oops" } }), {
        kind: "exit",
        code: 3,
        stdout: "",
        stderr: "",
      }),
      {
        status: "oops",
        reason: "s returned exit code 3",
      },
    ));
  it("non-zero exit without on_error fails", () =>
    assert.equal(
      scriptOutcome("s", h(), { kind: "exit", code: 3, stdout: "", stderr: "" }).status,
      "failed",
    ));
  it("a killed script goes to on_kill", () =>
    assert.deepEqual(
      scriptOutcome("s", h({ onKill: { status: "killed" } }), {
        kind: "killed",
        signal: "SIGTERM",
        signo: 15,
        stdout: "",
        stderr: "",
        timedOut: true,
      }),
      { status: "killed" },
    ));
  it("a killed script without on_kill fails naming the signal", () =>
    assert.match(
      scriptOutcome("s", h(), {
        kind: "killed",
        signal: "SIGTERM",
        signo: 15,
        stdout: "",
        stderr: "",
        timedOut: true,
      }).reason!,
      /killed by signal 15/,
    ));
  it("a script that cannot start goes to on_error", () =>
    assert.deepEqual(scriptOutcome("s", h(), { kind: "launch-error", error: "ENOENT" }), {
      status: "failed",
      reason: "Failed to launch s: ENOENT",
    }));
});

describe("other outcomes", () => {
  it("a builtin result merges into on_success", () =>
    assert.deepEqual(
      resultOutcome("download", h({ onSuccess: { status: "install" } }), {
        ok: true,
        value: { downloadedPath: "/x" },
      }),
      {
        status: "install",
        merge: { downloadedPath: "/x" },
      },
    ));
  it("a builtin failure without on_error names the action", () =>
    assert.equal(
      resultOutcome("download", h(), { ok: false, error: "404" }).reason,
      "download failed with 404",
    ));
  it("an await timeout defaults to failed 'timeout'", () =>
    assert.deepEqual(timeoutOutcome(h()), { status: "failed", reason: "timeout" }));
  it("a successful sub-command copies output.* into the caller", () =>
    assert.deepEqual(
      awaitOutcome(
        h({ onSuccess: { status: "next" } }),
        { got: "${.payload.result}" },
        { topic: "t", payload: { status: "successful", result: "r" } },
      ),
      {
        status: "next",
        merge: { got: "r" },
      },
    ));
  it("a failed sub-command brings its reason to on_error", () =>
    assert.deepEqual(
      awaitOutcome(h({ onError: { status: "rollback" } }), undefined, {
        topic: "t",
        payload: { status: "failed", reason: "boom" },
      }),
      {
        status: "rollback",
        reason: "boom",
      },
    ));
  it("iterate walks the array with @next then goes to on_success", () => {
    const hh = h({ onNext: { status: "apply" }, onSuccess: { status: "done" } });
    const u1 = iterateOutcome(hh, ["a", "b"], {});
    assert.deepEqual(u1, { status: "apply", merge: { "@next": { index: 0, item: "a" } } });
    const u2 = iterateOutcome(hh, ["a", "b"], u1.merge!);
    assert.deepEqual(u2.merge, { "@next": { index: 1, item: "b" } });
    assert.equal(iterateOutcome(hh, ["a", "b"], u2.merge!).status, "done");
  });
  it("unknown payload fields are kept across states, a stale reason dropped on success", () =>
    assert.deepEqual(applyUpdate({ status: "x", keep: 1, reason: "old" }, { status: "successful" }), {
      status: "successful",
      keep: 1,
    }));
});

describe("workflow files", () => {
  const ok = `operation = "custom"
on_error = "failed"
timeout_second = 30

[init]
action = "proceed"
on_success = "run"

[run]
script = "/bin/true \${.payload.x}"
on_exit.0 = "successful"
on_exit.1-3 = { status = "failed", reason = "small" }
on_kill = "failed"

["do-it"]
operation = "other"
input.x = "\${.payload.x}"
on_exec = "wait"

[wait]
action = "await-operation-completion"
on_success = "successful"

[successful]
action = "cleanup"
`;
  it("parses states, handlers and defaults", () => {
    const p = parseWorkflow(ok, "/x/custom.toml");
    assert.ok(p.ok);
    const run = p.value.states.run!;
    assert.deepEqual(run.action, { kind: "script", line: "/bin/true ${.payload.x}" });
    assert.deepEqual(run.handlers.onSuccess, { status: "successful" });
    assert.deepEqual(
      run.handlers.onExit.map((e) => [e.from, e.to]),
      [
        [0, 0],
        [1, 3],
      ],
    );
    assert.equal(run.handlers.timeoutS, 30, "top-level timeout_second is the default");
    assert.deepEqual(run.handlers.onError, { status: "failed" });
    assert.ok(p.value.states.failed, "a missing terminal state is implied");
    assert.equal(p.value.version.length, 64);
  });
  const bad: [string, string, number | undefined, RegExp][] = [
    ["a TOML syntax error names its line", 'operation = "x"\n[init]\naction = \n', 3, /invalid TOML/],
    ["an unknown action", 'operation = "x"\n[init]\naction = "fly"\n', 3, /unknown action 'fly'/],
    [
      "two actions in one state",
      'operation = "x"\n\n[init]\nscript = "a"\naction = "proceed"\n',
      5,
      /one action/,
    ],
    [
      "overlapping exit ranges",
      'operation = "x"\n[init]\nscript = "a"\non_exit.1-4 = "a"\non_exit.3 = "b"\n',
      4,
      /overlapping/,
    ],
    [
      "on_success with on_exit.0",
      'operation = "x"\n[init]\nscript = "a"\non_success = "a"\non_exit.0 = "b"\n',
      5,
      /on_exit.0/,
    ],
    ["no init state", 'operation = "x"\n[go]\nscript = "a"\n', undefined, /no 'init' state/],
    ["no operation key", '[init]\nscript = "a"\n', undefined, /'operation'/],
    [
      "builtin of another operation",
      'operation = "x"\n[init]\noperation = "builtin:software_update"\n',
      3,
      /builtin:software_update/,
    ],
  ];
  for (const [name, text, line, re] of bad)
    it(name, () => {
      const p = parseWorkflow(text, "/x/bad.toml");
      assert.ok(!p.ok);
      assert.equal(p.error.line, line);
      assert.match(p.error.reason, re);
    });
  it("an unparseable file still tells its operation (its commands fail visibly)", () => {
    const p = parseWorkflow('operation = "x"\n[init\n', "/x/bad.toml");
    assert.ok(!p.ok);
    assert.equal(p.error.operation, "x");
  });
});
