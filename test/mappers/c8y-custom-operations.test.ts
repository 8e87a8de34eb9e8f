// biome-ignore-all lint/suspicious/noTemplateCurlyInString: operation files hold `${…}` templates
/**
 * Cumulocity custom operations from thin-edge operation files (TEDGE-FACTS §2, §3): parsing each
 * key, status records as thin-edge trims them, and the mapper running real commands.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createC8yMapperComponent } from "../../src/mappers/c8y/component.ts";
import { matchJson, matchSmartRest, parseOperationFile } from "../../src/mappers/c8y/operation-files.ts";
import { failureRecord, successRecord } from "../../src/mappers/c8y/operation-result.ts";
import { type Harness, startHarness } from "../helpers/mappers-bus.ts";
import { waitFor } from "../helpers/ports.ts";

const EXAMPLES = join(import.meta.dirname, "../../examples/operations");

describe("operation files (thin-edge §2.2 keys)", () => {
  it("an empty file: supported, handled by the built-in conversion", () =>
    assert.deepEqual(parseOperationFile("c8y_Restart", ""), {
      ok: true,
      value: {
        name: "c8y_Restart",
        builtin: true,
        resultFormat: "text",
        timeoutS: 3600,
        forcefulS: 60,
        skipStatusUpdate: false,
      },
    }));
  it("every key of a SmartREST handler", () => {
    const p = parseOperationFile(
      "set_wifi",
      `[exec]
topic = "\${.bridge.topic_prefix}/s/dc/custom_devmgmt"
on_message = "dm101"
command = "/usr/bin/set_wifi --verbose"
result_format = "csv"
timeout = 10
forceful_timeout = 5
skip_status_update = true
user = "tedge"
`,
      "c8y",
    );
    assert.ok(p.ok);
    assert.deepEqual(p.value, {
      name: "set_wifi",
      builtin: false,
      topic: "c8y/s/dc/custom_devmgmt",
      onMessage: "dm101",
      onFragment: undefined,
      command: "/usr/bin/set_wifi --verbose",
      resultFormat: "csv",
      timeoutS: 10,
      forcefulS: 5,
      skipStatusUpdate: true,
      workflow: undefined,
    });
  });
  it("a JSON handler listens on devicecontrol/notifications by default; c8y/ follows the bridge prefix", () => {
    const p = parseOperationFile("x", '[exec]\non_fragment = "c8y_Command"\ncommand = "run"\n', "cloud");
    assert.ok(p.ok);
    assert.equal(p.value.topic, "cloud/devicecontrol/notifications");
  });
  it("a workflow link", () => {
    const p = parseOperationFile(
      "c8y_Command",
      '[exec]\non_fragment = "c8y_Command"\n[exec.workflow]\noperation = "command"\ninput = "${.payload.c8y_Command}"\noutput = "${.payload.result}"\n',
    );
    assert.ok(p.ok);
    assert.deepEqual(p.value.workflow, {
      operation: "command",
      input: "${.payload.c8y_Command}",
      output: "${.payload.result}",
    });
  });
  const bad: [string, string, RegExp][] = [
    [
      "on_message without topic",
      '[exec]\non_message = "511"\ncommand = "x"\n',
      /needs 'topic' and 'command'/,
    ],
    [
      "on_message with on_fragment",
      '[exec]\ntopic = "c8y/s/ds"\non_message = "511"\non_fragment = "a"\ncommand = "x"\n',
      /exclude/,
    ],
    ["neither on_message nor on_fragment", '[exec]\ncommand = "x"\n', /on_message' or 'on_fragment/],
    [
      "command and workflow",
      '[exec]\non_fragment = "a"\ncommand = "x"\n[exec.workflow]\noperation = "w"\n',
      /exclude/,
    ],
    [
      "a bad result_format",
      '[exec]\non_fragment = "a"\ncommand = "x"\nresult_format = "xml"\n',
      /result_format/,
    ],
    ["a bad timeout", '[exec]\non_fragment = "a"\ncommand = "x"\ntimeout = -1\n', /timeout/],
    ["not TOML", "[exec\n", /invalid TOML/],
  ];
  for (const [name, text, re] of bad)
    it(`invalid: ${name}`, () => {
      const p = parseOperationFile("x", text);
      assert.ok(!p.ok);
      assert.match(p.error, re);
    });
  it("SmartREST lines for a child device are not handled (main device only)", () => {
    const f = parseOperationFile(
      "c8y_Command",
      '[exec]\ntopic = "c8y/s/ds"\non_message = "511"\ncommand = "x"\n',
    );
    assert.ok(f.ok);
    assert.equal(matchSmartRest([f.value], "c8y/s/ds", "511,test-device,ls", "test-device"), f.value);
    assert.equal(
      matchSmartRest([f.value], "c8y/s/ds", "511,test-device:device:child,ls", "test-device"),
      undefined,
    );
    assert.equal(matchJson([f.value], "c8y/devicecontrol/notifications", { c8y_Command: {} }), undefined);
  });
});

describe("status records (thin-edge's SmartREST limits)", () => {
  it("a result is one quoted field", () =>
    assert.equal(successRecord(503, "c8y_Command", "a,b\n", "text"), '503,c8y_Command,"a,b"'));
  it("csv results are fields of their own", () =>
    assert.equal(successRecord(506, "7", "a,b\n", "csv"), "506,7,a,b"));
  it("a result over 16000 bytes is cut and marked ...<trimmed>", () => {
    const r = successRecord(503, "c8y_Command", `${'"'.repeat(100)}${"x".repeat(30000)}`, "text");
    assert.ok(Buffer.byteLength(r) <= 16000, String(Buffer.byteLength(r)));
    assert.ok(Buffer.byteLength(r) > 15900);
    assert.match(r, /^503,c8y_Command,"""".*x\.\.\.<trimmed>"$/s);
  });
  it("a failure reason is cut to 500 bytes", () =>
    assert.equal(failureRecord(502, "op", "é".repeat(400)), `502,op,${"é".repeat(250)}`));
});

describe("custom operations through the c8y mapper", () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    h = await startHarness("embedded", [createC8yMapperComponent]);
    dir = join(h.config.dir, "operations", "c8y");
    mkdirSync(dir, { recursive: true });
    // The documented c8y_Command example, unchanged but for where its script lives.
    writeFileSync(
      join(dir, "c8y_Command"),
      readFileSync(join(EXAMPLES, "c8y/c8y_Command"), "utf8")
        .replace("/etc/ledge/operations/command", join(EXAMPLES, "command"))
        // 1 s instead of the example's 10, to keep the test fast
        .replace("timeout = 10", "timeout = 1"),
    );
    writeFileSync(
      join(dir, "c8y_Sleep"),
      '[exec]\ntopic = "c8y/s/ds"\non_message = "599"\ncommand = "sh -c \'sleep 30\' sh"\ntimeout = 1\nforceful_timeout = 1\n',
    );
    writeFileSync(
      join(dir, "c8y_Echo"),
      '[exec]\non_fragment = "c8y_Echo"\ncommand = "sh -c \'echo ${.payload.c8y_Echo.a},$1; echo oops >&2; exit ${.payload.c8y_Echo.code}\' sh ${.payload.c8y_Echo.b}"\nresult_format = "csv"\n',
    );
    writeFileSync(
      join(dir, "set_wifi"),
      `[exec]\ntopic = "c8y/s/dc/custom_devmgmt"\non_message = "dm101"\ncommand = "sh -c 'printf %s \\"$1\\"' sh"\n`,
    );
    writeFileSync(
      join(dir, "c8y_Quiet"),
      '[exec]\non_fragment = "c8y_Quiet"\ncommand = "true"\nskip_status_update = true\n',
    );
    copyFileSync(join(EXAMPLES, "c8y/c8y_Command"), join(dir, "bad-name.txt"));
    writeFileSync(
      join(dir, "c8y_Shell"),
      '[exec]\non_fragment = "c8y_Shell"\n[exec.workflow]\noperation = "command"\ninput = "${.payload.c8y_Shell}"\noutput = "${.payload.result}"\n',
    );
    await h.expect("c8y/s/us", "114,c8y_Command,c8y_Echo,c8y_Quiet,c8y_Shell,c8y_Sleep,set_wifi");
  });
  after(() => h.stop());

  it("c8y_Command (SmartREST 511) runs the shell command and returns its output", async () => {
    const from = h.seen.length;
    await h.publish("c8y/s/ds", `511,test-device,"echo '""hello, world""'"`);
    await h.expect("c8y/s/us", "501,c8y_Command", from);
    await h.expect("c8y/s/us", '503,c8y_Command,"""hello, world"""', from);
  });

  it("c8y_Command with a large output: the result is trimmed to the SmartREST limit", async () => {
    const from = h.seen.length;
    await h.publish("c8y/s/ds", "511,test-device,head -c 40000 /dev/zero | tr '\\0' a");
    const r = await waitFor("503", () =>
      h.seen.slice(from).find((s) => s.payload.startsWith("503,c8y_Command,")),
    );
    assert.ok(Buffer.byteLength(r.payload) <= 16000);
    assert.match(r.payload, /^503,c8y_Command,"a+\.\.\.<trimmed>"$/);
  });

  it("c8y_Command failing: 502 with its stderr", async () => {
    const from = h.seen.length;
    await h.publish("c8y/s/ds", "511,test-device,echo denied >&2; exit 3");
    await h.expect("c8y/s/us", "502,c8y_Command,denied", from);
  });

  it("c8y_Command past its timeout: the shell is stopped and the operation fails", async () => {
    const from = h.seen.length;
    const t0 = Date.now();
    await h.publish("c8y/s/ds", "511,test-device,sleep 30");
    await h.expect("c8y/s/us", "502,c8y_Command,operation c8y_Command timed out after 1 s", from);
    assert.ok(Date.now() - t0 < 8000);
  });

  it("a command past its timeout is stopped and the operation fails", async () => {
    const from = h.seen.length;
    const t0 = Date.now();
    await h.publish("c8y/s/ds", "599,test-device");
    await h.expect("c8y/s/us", "502,c8y_Sleep,operation c8y_Sleep timed out after 1 s", from);
    assert.ok(Date.now() - t0 < 8000);
  });

  it("a JSON operation: templated command, 504/506 by id, csv result; non-zero exit → 505 with stderr", async () => {
    const from = h.seen.length;
    await h.publish("c8y/devicecontrol/notifications", { id: "4711", c8y_Echo: { a: "x", b: "y", code: 0 } });
    await h.expect("c8y/s/us", "504,4711", from);
    await h.expect("c8y/s/us", "506,4711,x,y", from);
    await h.publish("c8y/devicecontrol/notifications", { id: "4712", c8y_Echo: { a: "x", b: "y", code: 2 } });
    await h.expect("c8y/s/us", "505,4712,oops", from);
  });

  it("a custom SmartREST template topic: the whole line is the last argument", async () => {
    const from = h.seen.length;
    await h.publish(
      "c8y/s/dc/custom_devmgmt",
      "dm101,test-device,Factory Wifi,factory-onboarding-wifi,WPA3-Personal",
    );
    await h.expect(
      "c8y/s/us",
      '503,set_wifi,"dm101,test-device,Factory Wifi,factory-onboarding-wifi,WPA3-Personal"',
      from,
    );
  });

  it("skip_status_update: the command runs, no status is sent", async () => {
    const from = h.seen.length;
    await h.publish("c8y/devicecontrol/notifications", { id: "5000", c8y_Quiet: {} });
    // Positive control after it: a later operation's status arrives, the quiet one's never did.
    await h.publish("c8y/devicecontrol/notifications", { id: "5001", c8y_Echo: { a: "q", b: "r", code: 0 } });
    await h.expect("c8y/s/us", "506,5001,q,r", from);
    assert.ok(!h.seen.slice(from).some((s) => s.topic === "c8y/s/us" && s.payload.includes("5000")));
  });

  it("a workflow link: a te/ command for the agent, its result returned by the output template", async () => {
    const from = h.seen.length;
    await h.publish("c8y/devicecontrol/notifications", { id: "6000", c8y_Shell: { text: "uptime" } });
    const cmd = await h.expect("te/device/main///cmd/command/c8y-mapper-6000", undefined, from);
    assert.deepEqual(JSON.parse(cmd.payload), {
      text: "uptime",
      status: "init",
      "c8y-mapper": { on_fragment: "c8y_Shell", output: "${.payload.result}" },
    });
    await h.publish(
      "te/device/main///cmd/command/c8y-mapper-6000",
      { ...JSON.parse(cmd.payload), status: "successful", result: "up 3 days" },
      { retain: true },
    );
    await h.expect("c8y/s/us", "506,6000,up 3 days", from);
    await h.expect("te/device/main///cmd/command/c8y-mapper-6000", "", from);
  });

  it("a file added at runtime is announced in 114", async () => {
    const from = h.seen.length;
    writeFileSync(join(dir, "c8y_New"), "");
    await h.expect(
      "c8y/s/us",
      "114,c8y_Command,c8y_Echo,c8y_New,c8y_Quiet,c8y_Shell,c8y_Sleep,set_wifi",
      from,
    );
  });
});

describe("template operation files (thin-edge §2.4, §3 te command pattern)", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness("embedded", [createC8yMapperComponent]);
    const dir = join(h.config.dir, "operations", "c8y");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "c8y_Command.template"),
      '[exec]\non_fragment = "c8y_Command"\n[exec.workflow]\noperation = "command"\ninput = "${.payload.c8y_Command}"\noutput = "${.payload.result}"\n',
    );
    writeFileSync(join(dir, "c8y_Other"), "");
    await h.expect("c8y/s/us", "114,c8y_Other");
  });
  after(() => h.stop());

  it("the template is linked when the device announces the workflow's operation, unlinked when it withdraws it", async () => {
    let from = h.seen.length;
    await h.publish("te/device/main///cmd/command", {}, { retain: true });
    await h.expect("c8y/s/us", "114,c8y_Command,c8y_Other", from);
    await h.publish("c8y/devicecontrol/notifications", { id: "8000", c8y_Command: { text: "ls" } });
    const cmd = await h.expect("te/device/main///cmd/command/c8y-mapper-8000", undefined, from);
    assert.equal(JSON.parse(cmd.payload).text, "ls");
    from = h.seen.length;
    await h.publish("te/device/main///cmd/command", "", { retain: true });
    await h.expect("c8y/s/us", "114,c8y_Other", from);
  });
});
