import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { selfUpdatePaths } from "../../src/agent/operations/firmware-update.ts";
import { type AgentEnv, agentEnv } from "../helpers/agent-env.ts";
import { waitFor } from "../helpers/ports.ts";

/** Ends what a test's watchers left running: each watcher leads a process group. */
function killGroups(pids: number[]): void {
  for (const pid of pids)
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("self-update (firmware_update of ledge's own binary)", () => {
  let env: AgentEnv;
  let target: string;
  let runs: string;
  let v1: string;
  let oldProc: ReturnType<typeof spawn>;
  const watchers: number[] = [];

  const script = (name: string, body: string) => {
    const p = join(env.dir, "dl", name);
    const text = `#!/bin/sh\necho "${name} $*" >> "${runs}"\n${body}\n`;
    writeFileSync(p, text);
    return { path: p, text, sha256: sha(text) };
  };

  beforeEach(async () => {
    env = await agentEnv("embedded");
    mkdirSync(join(env.dir, "bin"));
    mkdirSync(join(env.dir, "dl"));
    runs = join(env.dir, "runs");
    target = join(env.dir, "bin", "ledge");
    v1 = `#!/bin/sh\necho "v1 $*" >> "${runs}"\n`;
    writeFileSync(target, v1);
    chmodSync(target, 0o755);
    // Stands in for the running ledge process that hands over to the new binary.
    oldProc = spawn("sleep", ["60"], { stdio: "ignore" });
    await env.startAgent({
      selfUpdate: {
        target,
        mode: "exec",
        rest: ["run", "--flag"],
        healthTimeoutS: 4,
        oldPid: oldProc.pid,
        requestExit: () => oldProc.kill(),
        useSystemdRun: false,
        onWatcher: (pid) => watchers.push(pid),
      },
    });
  });
  afterEach(async () => {
    oldProc.kill();
    killGroups(watchers.splice(0));
    await env.close();
  });

  /** What the next ledge start does: a fresh agent on the same data dir. */
  const restartAgent = async () => {
    const overrides = {
      selfUpdate: {
        target,
        mode: "exec" as const,
        rest: [],
        healthTimeoutS: 4,
        requestExit: () => {},
        useSystemdRun: false,
      },
    };
    await env.stopAgent();
    await env.startAgent(overrides);
  };
  const result = () => readFileSync(selfUpdatePaths(join(env.config.dataDir, "agent")).result, "utf8").trim();

  it("thin-edge's firmware payload (remoteUrl, name, version, no checksum): swapped atomically, started, confirmed, successful; previous kept as .prev", async () => {
    const good = script("good", "exit 0");
    await env.command("firmware_update", "f1", {
      status: "init",
      name: "ledge",
      version: "2.0",
      remoteUrl: good.path,
    });
    await env.waitStatus("firmware_update", "f1", "executing");
    await waitFor(
      "new binary started by the watcher",
      () => (existsSync(runs) && readFileSync(runs, "utf8")) || undefined,
    );
    assert.equal(readFileSync(runs, "utf8"), "good run --flag\n");
    assert.equal(readFileSync(target, "utf8"), good.text);
    assert.equal(readFileSync(`${target}.prev`, "utf8"), v1);
    await restartAgent();
    await env.waitStatus("firmware_update", "f1", "successful");
    await waitFor(
      "watcher saw the confirmation",
      () =>
        (existsSync(selfUpdatePaths(join(env.config.dataDir, "agent")).result) && result() === "confirmed") ||
        undefined,
      5000,
    );
    assert.equal(readFileSync(target, "utf8"), good.text);
  });

  it("a bad binary that never reports healthy is rolled back and the previous one restarted", async () => {
    const bad = script("bad", "exec sleep 30");
    await env.command("firmware_update", "f2", { status: "init", url: bad.path, sha256: bad.sha256 });
    await waitFor(
      "rollback",
      () => (existsSync(selfUpdatePaths(join(env.config.dataDir, "agent")).result) && result()) || undefined,
      10_000,
    );
    assert.equal(result(), "rolled-back");
    assert.equal(readFileSync(target, "utf8"), v1);
    await waitFor(
      "previous binary restarted",
      () => readFileSync(runs, "utf8").includes("v1 run --flag") || undefined,
    );
    assert.equal(readFileSync(runs, "utf8"), "bad run --flag\nv1 run --flag\n");
    await restartAgent();
    const r = await env.waitStatus("firmware_update", "f2", "failed");
    assert.match(String(r.reason), /did not report healthy within 4 s; rolled back/);
  });

  it("a checksum mismatch fails before anything is replaced", async () => {
    const good = script("good", "exit 0");
    await env.command("firmware_update", "f3", {
      status: "init",
      url: good.path,
      sha256: sha("something else"),
    });
    const r = await env.waitStatus("firmware_update", "f3", "failed");
    assert.match(String(r.reason), /checksum mismatch/);
    assert.equal(readFileSync(target, "utf8"), v1);
    assert.equal(existsSync(`${target}.new`), false);
    assert.equal(existsSync(`${target}.prev`), false);
  });

  it("tedgeUrl (the local copy) is preferred over remoteUrl: downloads over HTTP from the file transfer service", async () => {
    const good = script("good", "exit 0");
    const url = `http://127.0.0.1:${env.agent!.http.port}/te/v1/files/firmware/ledge`;
    assert.equal((await fetch(url, { method: "PUT", body: good.text })).status, 201);
    await env.command("firmware_update", "f4", {
      status: "init",
      tedgeUrl: url,
      remoteUrl: "https://unreachable.invalid/ledge",
      sha256: good.sha256,
    });
    await waitFor("swapped", () => readFileSync(target, "utf8") === good.text || undefined);
    // Nothing confirms here, so the watcher rolls back; wait for it so no process outlives the test.
    await waitFor(
      "watcher done",
      () => (existsSync(selfUpdatePaths(join(env.config.dataDir, "agent")).result) && result()) || undefined,
      10_000,
    );
    assert.equal(result(), "rolled-back");
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["no remoteUrl", { sha256: sha("x") }, /no 'remoteUrl'/],
    ["a sha256 that is not hex SHA-256", { remoteUrl: "/x", sha256: "abc" }, /hex SHA-256/],
    ["a missing file", { url: "/nonexistent/ledge", sha256: sha("x") }, /ENOENT|no such file/],
  ];
  for (const [name, payload, re] of bad)
    it(`fails with ${name}`, async () => {
      await env.command("firmware_update", "fx", { status: "init", ...payload });
      assert.match(String((await env.waitStatus("firmware_update", "fx", "failed")).reason), re);
      assert.equal(readFileSync(target, "utf8"), v1);
    });
});

describe("self-update in supervisor mode (systemd / OpenRC / init script restart ledge)", () => {
  it("no confirmation in time: the previous binary is restored and the supervisor's restart command runs", async () => {
    const env = await agentEnv("embedded");
    const oldProc = spawn("sleep", ["60"], { stdio: "ignore" });
    const watchers: number[] = [];
    try {
      mkdirSync(join(env.dir, "bin"));
      const target = join(env.dir, "bin", "ledge");
      const v1 = "#!/bin/sh\nexit 0\n";
      writeFileSync(target, v1);
      chmodSync(target, 0o755);
      const bad = "#!/bin/sh\nexit 1\n";
      writeFileSync(join(env.dir, "bad"), bad);
      const restarted = join(env.dir, "restarted");
      await env.startAgent({
        selfUpdate: {
          target,
          mode: "supervisor",
          rest: ["/bin/sh", "-c", `cp "${target}" "${restarted}"`],
          healthTimeoutS: 1,
          oldPid: oldProc.pid,
          requestExit: () => oldProc.kill(),
          useSystemdRun: false,
          onWatcher: (pid) => watchers.push(pid),
        },
      });
      await env.command("firmware_update", "s1", {
        status: "init",
        url: join(env.dir, "bad"),
        sha256: sha(bad),
      });
      // The restart command copies the target as it is then: it must already be the restored v1.
      await waitFor("supervisor restart command ran", () => existsSync(restarted) || undefined, 10_000);
      assert.equal(readFileSync(restarted, "utf8"), v1);
      assert.equal(readFileSync(target, "utf8"), v1);
      await env.stopAgent();
      await env.startAgent({ selfUpdate: { target, requestExit: () => {}, healthTimeoutS: 1 } });
      assert.match(String((await env.waitStatus("firmware_update", "s1", "failed")).reason), /rolled back/);
    } finally {
      oldProc.kill();
      killGroups(watchers);
      await env.close();
    }
  });
});
