import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CommandRecord,
  decide,
  parseCommandTopic,
  resumeAction,
  statusPayload,
  timeoutMs,
} from "../../src/agent/commands/state.ts";

const b = (s: string) => Buffer.from(s);

describe("command state machine: decide", () => {
  const rows: [string, string, boolean, string][] = [
    ["init for a new command starts it", '{"status":"init"}', false, "start"],
    ["init already taken on is ignored (our own record)", '{"status":"init"}', true, "ignore"],
    ["empty retained payload clears", "", true, "clear"],
    ["executing echo of our own command is ignored", '{"status":"executing"}', true, "ignore"],
    ["executing nobody runs is an orphan to fail", '{"status":"executing"}', false, "fail-orphan"],
    ["successful is terminal", '{"status":"successful"}', false, "ignore"],
    ["failed is terminal", '{"status":"failed","reason":"x"}', true, "ignore"],
    ["unknown intermediate state is ignored", '{"status":"scheduled"}', false, "ignore"],
    ["another workflow's state is ignored", '{"status":"downloading"}', true, "ignore"],
    ["not JSON is an error", "{nope", false, "error"],
    ["array payload is an error", "[1]", false, "error"],
    ["missing status is an error", '{"foo":1}', false, "error"],
  ];
  for (const [name, payload, known, kind] of rows)
    it(name, () => assert.equal(decide(b(payload), { known }).kind, kind));

  it("start carries the requester's payload", () => {
    const d = decide(b('{"status":"init","type":"mosquitto"}'), { known: false });
    assert.deepEqual(d, { kind: "start", payload: { status: "init", type: "mosquitto" } });
  });
});

describe("statusPayload", () => {
  it("keeps requester fields and sets the status", () =>
    assert.deepEqual(statusPayload({ status: "init", type: "a" }, "executing"), {
      status: "executing",
      type: "a",
    }));
  it("adds the reason on failure", () =>
    assert.deepEqual(statusPayload({ status: "executing" }, "failed", { reason: "boom" }), {
      status: "failed",
      reason: "boom",
    }));
  it("drops a stale reason on success", () =>
    assert.deepEqual(statusPayload({ status: "failed", reason: "old" }, "successful", { path: "/x" }), {
      status: "successful",
      path: "/x",
    }));
});

describe("resumeAction (agent restarted with a persisted command)", () => {
  const rec = (status: CommandRecord["status"], phase?: string): CommandRecord => ({
    topic: "te/device/main///cmd/x/1",
    op: "x",
    id: "1",
    status,
    payload: {},
    startedAt: 0,
    phase,
  });
  it("terminal commands are kept as they are", () =>
    assert.equal(resumeAction(rec("successful"), "fail").kind, "keep"));
  it("rerun policy reruns", () => assert.equal(resumeAction(rec("executing"), "rerun").kind, "rerun"));
  it("custom policy defers to the operation", () =>
    assert.equal(resumeAction(rec("executing"), "custom").kind, "custom"));
  it("fail policy fails with a reason naming the phase", () => {
    const a = resumeAction(rec("executing", "installing"), "fail");
    assert.equal(a.kind, "fail");
    assert.match((a as { reason: string }).reason, /installing/);
  });
  it("an operation this agent no longer has fails", () =>
    assert.match(
      (resumeAction(rec("executing"), undefined) as { reason: string }).reason,
      /no longer supported/,
    ));
});

describe("parseCommandTopic", () => {
  const rows: [string, ReturnType<typeof parseCommandTopic>][] = [
    ["te/device/main///cmd/restart/123", { entity: "device/main//", op: "restart", id: "123" }],
    [
      "te/device/child1///cmd/software_update/c8y-mapper-1",
      { entity: "device/child1//", op: "software_update", id: "c8y-mapper-1" },
    ],
    ["te/device/main///cmd/restart", undefined],
    ["te/device/main///m/restart/1", undefined],
    ["other/device/main///cmd/restart/1", undefined],
    ["te/device/main///cmd/restart/", undefined],
  ];
  for (const [topic, want] of rows) it(topic, () => assert.deepEqual(parseCommandTopic(topic, "te"), want));
});

describe("timeoutMs", () => {
  it("uses the default", () => assert.equal(timeoutMs("restart", 60, []), 60_000));
  it("uses an override for its operation", () =>
    assert.equal(timeoutMs("software_update", 60, ["restart=5", "software_update=7200"]), 7_200_000));
});

describe("command store file", () => {
  it("is written 0600 even over a temp file a crash left behind with a wider mode", async () => {
    const { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { CommandStore } = await import("../../src/agent/commands/store.ts");
    const dir = mkdtempSync(join(tmpdir(), "ledge-store-"));
    try {
      const store = new CommandStore(dir);
      mkdirSync(join(dir, "agent"));
      writeFileSync(`${store.file}.tmp-${process.pid}`, "half written", { mode: 0o644 });
      store.put({
        topic: "te/device/main///cmd/restart/1",
        op: "restart",
        id: "1",
        status: "executing",
        payload: {},
        startedAt: 0,
      });
      assert.equal(statSync(store.file).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
