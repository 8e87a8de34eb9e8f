// biome-ignore-all lint/suspicious/noTemplateCurlyInString: thin-edge templates are `${…}` inside plain strings
/**
 * thin-edge workflow files (the documentation's examples, reconstructed from TEDGE-FACTS §1) run
 * end to end through the agent on the embedded broker, with real scripts.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type AgentEnv, agentEnv } from "../helpers/agent-env.ts";
import { waitFor } from "../helpers/ports.ts";

describe("operation workflows", () => {
  let env: AgentEnv;
  let ops: string;
  let calls: string;
  let fw: string;
  /** Every status each command topic went through, in order. */
  const history = new Map<string, string[]>();
  const states = (op: string, id: string) => history.get(`te/device/main///cmd/${op}/${id}`) ?? [];
  const file = (name: string, text: string) => writeFileSync(join(ops, name), text);
  const errors: string[] = [];

  before(async () => {
    env = await agentEnv("embedded");
    ops = join(env.dir, "operations");
    mkdirSync(ops);
    calls = join(env.dir, "calls.log");
    env.client.on("message", (t, p) => {
      if (t === "te/errors") errors.push(p.toString());
      if (!t.includes("/cmd/") || !p.length) return;
      const s = (JSON.parse(p.toString()) as { status?: string }).status;
      if (s) history.set(t, [...(history.get(t) ?? []), s]);
    });
    fw = join(env.dir, "firmware_handler.sh");
    writeFileSync(
      fw,
      `#!/bin/sh
echo "$*" >> "${calls}"
case "$1" in
  plan) [ -f "${env.dir}/not-timely" ] && exit 1; exit 0 ;;
  install) printf ':::begin-tedge:::\\n{"installed":"%s"}\\n:::end-tedge:::\\n' "$(cat "$2")" ;;
  verify) [ -f "${env.dir}/verify-fails" ] && exit 2; exit 0 ;;
esac
exit 0
`,
    );
    chmodSync(fw, 0o755);
    // Example A (docs operation-workflow.md): firmware_update with user scripts.
    file(
      "firmware_update.toml",
      `operation = "firmware_update"
on_error = "failed"

[init]
script = "${fw} plan \${.payload.name}"
on_success = "executing"
on_error = { status = "failed", reason = "not timely" }

[executing]
action = "proceed"
on_success = "download"

[download]
action = "download"
input.url = "\${.payload.remoteUrl}"
on_success = "install"

[install]
script = "${fw} install \${.payload.downloadedPath}"
on_success = "verify"

[verify]
script = "${fw} verify"
on_success = "commit"
on_error = { status = "rollback", reason = "sanity check failed" }

[commit]
script = "${fw} commit"
on_success = "successful"
on_error = { status = "rollback", reason = "commit failed" }

[rollback]
script = "${fw} rollback"
on_success = "failed"

[successful]
action = "cleanup"

[failed]
action = "cleanup"
`,
    );
    env.plugin("fake", `echo "fake $*" >> "${calls}"\n[ "$1" = list ] && printf 'a\\t1\\n'\nexit 0`);
    env.plugin(
      "broken",
      `case "$1" in install) echo "E: Unable to locate package $2" >&2; exit 1 ;; esac\nexit 0`,
    );
    writeFileSync(join(env.dir, "fw.bin"), "v2-image");
    await env.startAgent();
  });
  after(() => env.close());

  it("a multi-state script workflow (docs example A) runs every state, downloads, merges script JSON", async () => {
    await env.command("firmware_update", "f1", {
      status: "init",
      name: "core",
      version: "2.0",
      remoteUrl: join(env.dir, "fw.bin"),
    });
    const r = await env.waitStatus("firmware_update", "f1", "successful");
    assert.deepEqual(states("firmware_update", "f1"), [
      "init",
      "executing",
      "download",
      "install",
      "verify",
      "commit",
      "successful",
    ]);
    assert.equal(r.installed, "v2-image", "the install script's JSON is merged into the payload");
    assert.equal(r.name, "core", "the requester's fields are kept");
    assert.equal(typeof r["@version"], "string");
    assert.match(readFileSync(calls, "utf8"), /plan core\n.*install .*firmware_update-f1\nverify\ncommit\n/s);
  });

  it("exit codes route to the workflow's handlers (verify fails → rollback → failed with its reason)", async () => {
    writeFileSync(join(env.dir, "verify-fails"), "");
    try {
      await env.command("firmware_update", "f2", {
        status: "init",
        name: "core",
        remoteUrl: join(env.dir, "fw.bin"),
      });
      const r = await env.waitStatus("firmware_update", "f2", "failed");
      assert.deepEqual(states("firmware_update", "f2").slice(-3), ["verify", "rollback", "failed"]);
      // thin-edge: an exit code handled by on_error gets the exit code as reason, not the handler's.
      assert.match(String(r.reason), /firmware_handler.sh returned exit code 2/);
    } finally {
      writeFileSync(join(env.dir, "verify-fails"), "");
      await import("node:fs").then((fs) => fs.rmSync(join(env.dir, "verify-fails")));
    }
  });

  it("a user software_update.toml wraps the built-in implementation (docs §1.11)", async () => {
    file(
      "software_update.toml",
      `operation = "software_update"

[init]
script = "sh -c 'echo schedule >> ${calls}'"
on_success = "scheduled"
on_error = { status = "failed", reason = "not timely" }

[scheduled]
operation = "builtin:software_update"
on_exec = "executing"

[executing]
action = "await-operation-completion"
on_success = "commit"
on_error = "rollback"

[commit]
script = "sh -c 'echo commit >> ${calls}'"
on_success = "successful"

[rollback]
script = "sh -c 'echo rollback >> ${calls}'"
on_success = "failed"
`,
    );
    await env.command("software_update", "s1", {
      status: "init",
      updateList: [{ type: "fake", modules: [{ name: "nodered", version: "1.0", action: "install" }] }],
    });
    await env.waitStatus("software_update", "s1", "successful");
    assert.deepEqual(states("software_update", "s1"), [
      "init",
      "scheduled",
      "executing",
      "commit",
      "successful",
    ]);
    assert.match(
      readFileSync(calls, "utf8"),
      /schedule\nfake prepare\nfake install nodered --module-version 1.0\nfake finalize\ncommit\n/,
    );
    await env.command("software_update", "s2", {
      status: "init",
      updateList: [{ type: "broken", modules: [{ name: "nope", action: "install" }] }],
    });
    const r = await env.waitStatus("software_update", "s2", "failed");
    assert.deepEqual(states("software_update", "s2").slice(-3), ["executing", "rollback", "failed"]);
    assert.match(
      String(r.reason),
      /Unable to locate package nope/,
      "the built-in's reason reaches the command",
    );
    // The capability keeps the built-in's metadata.
    assert.deepEqual(JSON.parse(env.seen.get("te/device/main///cmd/software_update")!.toString()), {
      types: ["broken", "fake"],
    });
  });

  it("a sub-operation: input templated, awaited, output copied back, sub-command cleared", async () => {
    file(
      "child.toml",
      `operation = "child"
[init]
script = "sh -c 'printf \\":::begin-tedge:::\\\\n{\\\\\\"result\\\\\\":\\\\\\"got-%s-%s\\\\\\"}\\\\n:::end-tedge:::\\\\n\\" $1 $2' sh \${.payload.value} \${.payload.fixed}"
on_success = "successful"
`,
    );
    file(
      "parent.toml",
      `operation = "parent"
[init]
operation = "child"
input.value = "\${.payload.value}"
input.fixed = "x"
on_exec = "await_child"

[await_child]
action = "await-operation-completion"
timeout_second = 20
on_success = "successful"
output.child_result = "\${.payload.result}"
`,
    );
    await waitFor(
      "parent capability",
      () => env.seen.get("te/device/main///cmd/parent")?.toString() === "{}" || undefined,
    );
    await env.command("parent", "p1", { status: "init", value: 42 });
    const r = await env.waitStatus("parent", "p1", "successful");
    assert.equal(r.child_result, "got-42-x");
    assert.deepEqual(states("parent", "p1"), ["init", "await_child", "successful"]);
    const sub = [...history.keys()].find((t) => t.includes("/cmd/child/p1-"));
    assert.ok(sub, "the sub-command was published on the same entity");
    assert.deepEqual(history.get(sub), ["init", "successful"]);
    await waitFor("sub-command cleared", () => (env.seen.get(sub)?.length === 0 ? true : undefined));
  });

  it("scripts that hang (killed at timeout_second → on_kill), exit non-zero, print invalid JSON", async () => {
    file(
      "scripts.toml",
      `operation = "scripts"
[init]
script = "sh -c 'exit \${.payload.code}'"
on_exit.0 = "hang"
on_exit.5 = { status = "failed", reason = "five" }

[hang]
script = "sleep 30"
timeout_second = 1
on_success = "successful"
on_kill = "bad_json"

[bad_json]
script = "sh -c 'echo :::begin-tedge:::; echo {oops; echo :::end-tedge:::'"
`,
    );
    await env.command("scripts", "c5", { status: "init", code: 5 });
    assert.equal((await env.waitStatus("scripts", "c5", "failed")).reason, "five");
    await env.command("scripts", "c7", { status: "init", code: 7 });
    assert.equal((await env.waitStatus("scripts", "c7", "failed")).reason, "sh returned exit code 7");
    const t0 = Date.now();
    await env.command("scripts", "c0", { status: "init", code: 0 });
    const r = await env.waitStatus("scripts", "c0", "failed");
    assert.ok(Date.now() - t0 < 10_000);
    assert.deepEqual(states("scripts", "c0"), ["init", "hang", "bad_json", "failed"]);
    assert.match(String(r.reason), /Program `sh` stdout is not valid JSON/);
  });

  it("a workflow edited while a command is in flight: the command keeps its version, new ones take the new", async () => {
    const gate = join(env.dir, "gate");
    const started = join(env.dir, "started");
    const v = (n: number) => `operation = "edited"
[init]
script = "sh -c 'touch ${started}; while [ ! -f ${gate} ]; do sleep 0.05; done'"
on_success = "v${n}"

["v${n}"]
action = "proceed"
on_success = "successful"
`;
    file("edited.toml", v(1));
    await waitFor(
      "edited capability",
      () => env.seen.get("te/device/main///cmd/edited")?.toString() === "{}" || undefined,
    );
    await env.command("edited", "e1", { status: "init" });
    await waitFor("script started", () => existsSync(started) || undefined);
    const inUse = join(env.config.dataDir, "agent", "workflows-in-use");
    assert.equal(
      readdirSync(inUse).filter((f) => f.startsWith("edited-")).length,
      1,
      "the version in use is kept",
    );
    file("edited.toml", v(2));
    writeFileSync(gate, "");
    await env.waitStatus("edited", "e1", "successful");
    assert.deepEqual(states("edited", "e1"), ["init", "v1", "successful"]);
    await env.command("edited", "e2", { status: "init" });
    await env.waitStatus("edited", "e2", "successful");
    assert.deepEqual(states("edited", "e2"), ["init", "v2", "successful"]);
    assert.equal(
      readdirSync(inUse).filter((f) => f.startsWith("edited-")).length,
      0,
      "copies go when unused",
    );
  });

  it("a workflow file with a syntax error: its commands fail with file, line and reason", async () => {
    file("broken.toml", 'operation = "brokenop"\n\n[init]\nscript = "true\n');
    await env.command("brokenop", "b1", { status: "init" });
    const r = await env.waitStatus("brokenop", "b1", "failed");
    assert.deepEqual(states("brokenop", "b1"), ["init", "executing", "failed"]);
    assert.match(String(r.reason), /^Invalid operation workflow definition .*broken\.toml:4: invalid TOML/);
  });

  it("a bad edit of a good workflow is reported and the good version keeps serving", async () => {
    file("good.toml", 'operation = "goodop"\n[init]\naction = "proceed"\non_success = "successful"\n');
    await waitFor(
      "goodop capability",
      () => env.seen.get("te/device/main///cmd/goodop")?.toString() === "{}" || undefined,
    );
    file("good.toml", 'operation = "goodop"\n[init]\naction = "teleport"\n');
    await waitFor("error reported", () =>
      errors.find((e) => e.includes("good.toml:3") && e.includes("teleport")),
    );
    await env.command("goodop", "g1", { status: "init" });
    await env.waitStatus("goodop", "g1", "successful");
  });

  it("a workflow-only operation is announced with {} and withdrawn (empty retained) when its file goes", async () => {
    file("gone.toml", 'operation = "goneop"\n[init]\naction = "proceed"\n');
    const cap = "te/device/main///cmd/goneop";
    await waitFor("announced", () => env.seen.get(cap)?.toString() === "{}" || undefined);
    (await import("node:fs")).rmSync(join(ops, "gone.toml"));
    await waitFor("withdrawn", () => (env.seen.get(cap)?.length === 0 ? true : undefined));
  });

  it("await-agent-restart across an agent restart (docs restart pattern with a background script)", async () => {
    const marker = join(env.dir, "rebooting");
    file(
      "reboot_seq.toml",
      `operation = "reboot_seq"
[init]
action = "proceed"
on_success = "device-restart"

["device-restart"]
background_script = "sh -c 'echo \${.topic.cmd_id} > ${marker}'"
on_exec = "waiting-for-restart"

["waiting-for-restart"]
action = "await-agent-restart"
timeout_second = 600
on_timeout = "timeout_restart"
on_success = "successful_restart"

[successful_restart]
action = "proceed"
on_success = "successful"

[timeout_restart]
action = "proceed"
on_success = { status = "failed", reason = "no restart" }
`,
    );
    await waitFor(
      "capability",
      () => env.seen.get("te/device/main///cmd/reboot_seq")?.toString() === "{}" || undefined,
    );
    await env.command("reboot_seq", "r1", { status: "init" });
    await waitFor("background script ran", () =>
      existsSync(marker) ? readFileSync(marker, "utf8") : undefined,
    );
    assert.equal(readFileSync(marker, "utf8").trim(), "r1");
    await env.waitStatus("reboot_seq", "r1", "waiting-for-restart");
    // Positive control: without a restart it keeps waiting.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(states("reboot_seq", "r1").at(-1), "waiting-for-restart");
    await env.stopAgent();
    await env.startAgent();
    await env.waitStatus("reboot_seq", "r1", "successful");
    assert.deepEqual(states("reboot_seq", "r1"), [
      "init",
      "device-restart",
      "waiting-for-restart",
      "successful_restart",
      "successful",
    ]);
  });

  it("device_profile: firmware, then software, then configuration; a failing software step is named", async () => {
    await env.command("device_profile", "d1", {
      status: "init",
      name: "prod",
      operations: [
        {
          operation: "firmware_update",
          "@skip": false,
          payload: { name: "core", version: "3", remoteUrl: join(env.dir, "fw.bin") },
        },
        {
          operation: "software_update",
          "@skip": false,
          payload: { updateList: [{ type: "broken", modules: [{ name: "nope", action: "install" }] }] },
        },
        { operation: "config_update", "@skip": false, payload: { type: "app", remoteUrl: "/nonexistent" } },
      ],
    });
    const r = await env.waitStatus("device_profile", "d1", "failed");
    assert.match(String(r.reason), /step 1 \(software_update\).*Unable to locate package nope/);
    const subs = [...history.keys()].filter((t) => t.includes("/cmd/") && t.includes("/d1-"));
    assert.deepEqual(
      subs.map((t) => t.split("/")[6]),
      ["firmware_update", "software_update"],
      "the configuration step never ran",
    );
    await env.command("device_profile", "d2", {
      status: "init",
      name: "prod",
      version: "1",
      operations: [
        {
          operation: "firmware_update",
          "@skip": false,
          payload: { name: "core", version: "3", remoteUrl: join(env.dir, "fw.bin") },
        },
        {
          operation: "software_update",
          "@skip": false,
          payload: { updateList: [{ type: "fake", modules: [{ name: "x", action: "install" }] }] },
        },
      ],
    });
    await env.waitStatus("device_profile", "d2", "successful");
    assert.deepEqual(JSON.parse(env.seen.get("te/device/main///twin/device_profile")!.toString()), {
      name: "prod",
      version: "1",
    });
  });
});

describe("restart-agent action", () => {
  it("the next state is persisted, the agent restarts, await-agent-restart completes in the new run", async () => {
    const env = await agentEnv("embedded");
    try {
      mkdirSync(join(env.dir, "operations"));
      writeFileSync(
        join(env.dir, "operations", "reload.toml"),
        `operation = "reload"
[init]
action = "restart-agent"
on_exec = "await"

[await]
action = "await-agent-restart"
timeout_second = 60
on_success = "successful"
`,
      );
      let restarts = 0;
      const overrides = {
        restartAgent: () => {
          restarts++;
          setImmediate(async () => {
            await env.stopAgent();
            await env.startAgent(overrides);
          });
        },
      };
      await env.startAgent(overrides);
      await env.command("reload", "a1", { status: "init" });
      await env.waitStatus("reload", "a1", "successful");
      assert.equal(restarts, 1);
    } finally {
      await env.close();
    }
  });
});

describe("resume after an agent restart", () => {
  it("a command stopped in a script state re-runs that state in the next run and completes", async () => {
    const env = await agentEnv("embedded");
    try {
      const gate = join(env.dir, "gate");
      const runs = join(env.dir, "runs");
      mkdirSync(join(env.dir, "operations"));
      writeFileSync(
        join(env.dir, "operations", "long.toml"),
        `operation = "long"
[init]
action = "proceed"
on_success = "work"

[work]
script = "sh -c 'echo run >> ${runs}; while [ ! -f ${gate} ]; do sleep 0.05; done'"
on_success = "successful"
`,
      );
      await env.startAgent();
      await env.command("long", "w1", { status: "init" });
      await env.waitStatus("long", "w1", "work");
      await waitFor("first run", () => existsSync(runs) || undefined);
      await env.stopAgent();
      const rec = JSON.parse(readFileSync(join(env.config.dataDir, "agent", "commands.json"), "utf8"));
      assert.equal(rec[0].status, "work", "the state was persisted");
      await env.startAgent();
      await waitFor("second run", () =>
        readFileSync(runs, "utf8").split("\n").length > 2 ? true : undefined,
      );
      writeFileSync(gate, "");
      await env.waitStatus("long", "w1", "successful");
    } finally {
      await env.close();
    }
  });
});

describe("thin-edge's shipped config_update workflow (docs extend/config-management.md)", () => {
  it("download → prepare → set → evaluate-agent-restart → verify → successful, the file replaced", async () => {
    const env = await agentEnv("embedded");
    try {
      const target = join(env.dir, "app.conf");
      writeFileSync(target, "old\n");
      writeFileSync(join(env.dir, "agent.toml"), `[[config]]\ntype = "app"\npath = "${target}"\n`);
      writeFileSync(join(env.dir, "new.conf"), "new\n");
      mkdirSync(join(env.dir, "operations"));
      writeFileSync(
        join(env.dir, "operations", "config_update.toml"),
        `operation = "config_update"
on_error = "failed"

[init]
action = "proceed"
on_success = "executing"

[executing]
action = "proceed"
on_success = "download"

[download]
action = "download"
on_success = "prepare"

[prepare]
action = "builtin:config_update:prepare"
input.setFrom = "\${.payload.downloadedPath}"
on_success = "set"

[set]
action = "builtin:config_update:set"
input.setFrom = "\${.payload.downloadedPath}"
on_success = "evaluate-agent-restart"
on_error = "rollback"

[evaluate-agent-restart]
script = "test \${.payload.restartAgent} = true"
on_exit.0 = "restart-agent"
on_exit.1 = "verify"

[restart-agent]
action = "restart-agent"
on_exec = "await-agent-restart"

[await-agent-restart]
action = "await-agent-restart"
timeout_second = 90
on_timeout = "rollback"
on_success = "verify"

[verify]
action = "builtin:config_update:verify"
on_success = "successful"
on_error = "rollback"

[rollback]
action = "builtin:config_update:rollback"
on_success = "failed"

[successful]
action = "cleanup"

[failed]
action = "cleanup"
`,
      );
      const seen: string[] = [];
      env.client.on("message", (t, p) => {
        if (t.endsWith("/cmd/config_update/u1") && p.length) seen.push(JSON.parse(p.toString()).status);
      });
      await env.startAgent();
      await env.command("config_update", "u1", {
        status: "init",
        type: "app",
        remoteUrl: join(env.dir, "new.conf"),
      });
      await env.waitStatus("config_update", "u1", "successful");
      assert.deepEqual(seen, [
        "init",
        "executing",
        "download",
        "prepare",
        "set",
        "evaluate-agent-restart",
        "verify",
        "successful",
      ]);
      assert.equal(readFileSync(target, "utf8"), "new\n");
    } finally {
      await env.close();
    }
  });
});
