import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type AgentEnv, agentEnv } from "../helpers/agent-env.ts";
import { waitFor } from "../helpers/ports.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("agent operations against the embedded broker", () => {
  let env: AgentEnv;
  let calls: string;
  let files: string;
  before(async () => {
    env = await agentEnv("embedded", {
      // The "reboot" writes a new boot id, as a real one makes the kernel do.
      "agent.restart.command": [
        "/bin/sh",
        "-c",
        'echo restarting >> "$LEDGE_TEST_DIR/restart.log"; cat /proc/sys/kernel/random/uuid > "$LEDGE_TEST_DIR/boot_id"',
      ],
      "agent.restart.boot_id_file": "boot_id",
      "agent.timeouts": ["software_list=1"],
    });
    process.env.LEDGE_TEST_DIR = env.dir;
    calls = join(env.dir, "calls.log");
    files = `http://127.0.0.1:${env.config.get("http.bind.port")}/te/v1/files`;
    env.plugin(
      "fake",
      `echo "$*" >> "${calls}"\ncase "$1" in list) printf 'nodered\\t1.0.0\\nmosquitto\\t2.0\\n' ;; esac\nexit 0`,
    );
    env.plugin(
      "broken",
      `case "$1" in list) echo ok ;; install) echo "E: Unable to locate package $2" >&2; exit 1 ;; esac\nexit 0`,
    );
    writeFileSync(join(env.dir, "boot_id"), "boot-1\n");
    writeFileSync(join(env.dir, "app.conf"), "level=1\n");
    writeFileSync(
      join(env.dir, "agent.toml"),
      `[[config]]\ntype = "app"\npath = "${join(env.dir, "app.conf")}"\n[[log]]\ntype = "app"\npath = "${join(env.dir, "app*.log")}"\n`,
    );
    await env.startAgent();
  });
  after(async () => {
    await env.close();
    delete process.env.LEDGE_TEST_DIR;
  });

  it("announces capabilities (retained) for the main device", async () => {
    const cap = (op: string) =>
      waitFor(`capability ${op}`, () => env.seen.get(`te/device/main///cmd/${op}`)?.toString());
    assert.equal(await cap("restart"), "{}");
    assert.deepEqual(JSON.parse(await cap("software_update")), { types: ["broken", "fake"] });
    assert.deepEqual(JSON.parse(await cap("software_list")), { types: ["broken", "fake"] });
    assert.deepEqual(JSON.parse(await cap("config_snapshot")), { types: ["app", "ledge.toml"] });
    assert.deepEqual(JSON.parse(await cap("config_update")), { types: ["app", "ledge.toml"] });
    assert.deepEqual(JSON.parse(await cap("log_upload")), { types: ["app"] });
    assert.equal(await cap("firmware_update"), "{}");
  });

  it("software_list: executing, then successful with every plugin's modules", async () => {
    await env.command("software_list", "l1", { status: "init" });
    const r = await env.waitStatus("software_list", "l1", "successful");
    assert.deepEqual(r.currentSoftwareList, [
      { type: "broken", modules: [{ name: "ok" }] },
      {
        type: "fake",
        modules: [
          { name: "nodered", version: "1.0.0" },
          { name: "mosquitto", version: "2.0" },
        ],
      },
    ]);
  });

  it("software_update: prepare, install/remove with versions, finalize", async () => {
    writeFileSync(calls, "");
    await env.command("software_update", "u1", {
      status: "init",
      updateList: [
        {
          type: "fake",
          modules: [
            { name: "nodered", version: "1.0.0", action: "install" },
            { name: "old", action: "remove" },
          ],
        },
      ],
    });
    await env.waitStatus("software_update", "u1", "successful");
    assert.equal(
      readFileSync(calls, "utf8"),
      "prepare\ninstall nodered --module-version 1.0.0\nremove old\nfinalize\n",
    );
  });

  it("software_update: a module url is downloaded and passed as --file", async () => {
    writeFileSync(calls, "");
    const put = await fetch(`${files}/pkgs/tool.deb`, { method: "PUT", body: "DEB" });
    assert.equal(put.status, 201);
    await env.command("software_update", "u2", {
      status: "init",
      updateList: [
        { type: "fake", modules: [{ name: "tool", action: "install", url: `${files}/pkgs/tool.deb` }] },
      ],
    });
    await env.waitStatus("software_update", "u2", "successful");
    const install = readFileSync(calls, "utf8").split("\n")[1]!;
    assert.match(install, /^install tool --file \S+/);
    assert.equal(existsSync(install.split(" ")[3]!), false, "downloaded file removed afterwards");
  });

  it("software_update: a plugin that exits non-zero fails the command with its stderr", async () => {
    await env.command("software_update", "u3", {
      status: "init",
      updateList: [{ type: "broken", modules: [{ name: "ghost", action: "install" }] }],
    });
    const r = await env.waitStatus("software_update", "u3", "failed");
    assert.match(String(r.reason), /E: Unable to locate package ghost/);
  });

  it("software_update: an unknown software type fails", async () => {
    await env.command("software_update", "u4", {
      status: "init",
      updateList: [{ type: "snap", modules: [{ name: "x", action: "install" }] }],
    });
    assert.match(
      String((await env.waitStatus("software_update", "u4", "failed")).reason),
      /no software plugin for type 'snap'/,
    );
  });

  it("software_update: an invalid updateList fails with a clear reason", async () => {
    await env.command("software_update", "u5", { status: "init", updateList: "apt" });
    assert.match(
      String((await env.waitStatus("software_update", "u5", "failed")).reason),
      /updateList must be a list/,
    );
  });

  it("per-operation time limit: a hanging plugin is killed and the command fails", async () => {
    // The sleep is a grandchild of the agent: the plugin's whole process group must be killed.
    env.plugin("slow", `[ "$1" = list ] && sleep 41.25\nexit 0`);
    await env.command("software_list", "t1", { status: "init" });
    const r = await env.waitStatus("software_list", "t1", "failed", 8000);
    assert.match(String(r.reason), /timed out after 1 s/);
    await waitFor(
      "plugin's children killed",
      () => (execSync("ps -eo args").toString().includes("sleep 41.25") ? undefined : true),
      4000,
    );
  });

  it("unknown intermediate states are left to whoever owns them (thin-edge: only init is a start)", async () => {
    // The previous test left a plugin whose `list` hangs: s2 below must be able to succeed.
    env.plugin("slow", "exit 0");
    const topic = "te/device/main///cmd/software_list/s1";
    const onS1: string[] = [];
    const count = (t: string, p: Buffer) => {
      if (t === topic) onS1.push(p.toString());
    };
    env.client.on("message", count);
    env.plugin("slow", "exit 0"); // the timeout test above left a plugin that sleeps
    try {
      await env.command("software_list", "s1", { status: "scheduled" });
      // A command published after it, which the agent does run: once it is done, the agent has
      // seen s1 too (one connection, in order) and had its chance to touch it.
      await env.command("software_list", "s2", { status: "init" });
      await env.waitStatus("software_list", "s2", "successful");
      assert.deepEqual(
        onS1.map((p) => JSON.parse(p).status),
        ["scheduled"],
      );
    } finally {
      env.client.off("message", count);
      await env.client.publishAsync(topic, "", { retain: true, qos: 1 });
      await env.client.publishAsync("te/device/main///cmd/software_list/s2", "", { retain: true, qos: 1 });
    }
  });

  it("an executing command nobody runs is failed, not left executing", async () => {
    await env.command("software_list", "o1", { status: "executing" });
    assert.match(String((await env.waitStatus("software_list", "o1", "failed")).reason), /interrupted/);
  });

  it("a payload that is not JSON is reported on te/errors", async () => {
    await env.client.publishAsync("te/device/main///cmd/software_list/bad", "{oops", { retain: true });
    await waitFor(
      "te/errors",
      () => env.seen.get("te/errors")?.toString().includes("software_list/bad") || undefined,
    );
    await env.client.publishAsync("te/device/main///cmd/software_list/bad", "", { retain: true });
  });

  it("the requester clears a finished command with an empty retained payload", async () => {
    await env.client.publishAsync("te/device/main///cmd/software_list/l1", "", { retain: true, qos: 1 });
    const store = join(env.config.dataDir, "agent/commands.json");
    await waitFor(
      "record dropped",
      () => !readFileSync(store, "utf8").includes("software_list/l1") || undefined,
    );
  });

  it("config_snapshot uploads the file to tedgeUrl", async () => {
    const url = `${files}/main/config_snapshot/app-1`;
    await env.command("config_snapshot", "c1", { status: "init", type: "app", tedgeUrl: url });
    const r = await env.waitStatus("config_snapshot", "c1", "successful");
    assert.equal(r.path, join(env.dir, "app.conf"));
    assert.equal(await (await fetch(url)).text(), "level=1\n");
  });

  it("config_snapshot of an undeclared type fails", async () => {
    await env.command("config_snapshot", "c2", { status: "init", type: "nope", tedgeUrl: `${files}/x` });
    assert.match(
      String((await env.waitStatus("config_snapshot", "c2", "failed")).reason),
      /unknown config type 'nope'/,
    );
  });

  it("config_update replaces the file from tedgeUrl", async () => {
    const url = `${files}/main/config_update/app-2`;
    assert.equal((await fetch(url, { method: "PUT", body: "level=2\n" })).status, 201);
    await env.command("config_update", "c3", { status: "init", type: "app", tedgeUrl: url });
    await env.waitStatus("config_update", "c3", "successful");
    assert.equal(readFileSync(join(env.dir, "app.conf"), "utf8"), "level=2\n");
  });

  it("config_update falls back to remoteUrl when nothing was staged at tedgeUrl", async () => {
    const remote = `${files}/remote/app.conf`;
    assert.equal((await fetch(remote, { method: "PUT", body: "level=3\n" })).status, 201);
    await env.command("config_update", "c5", {
      status: "init",
      type: "app",
      tedgeUrl: `${files}/not-staged`,
      remoteUrl: remote,
    });
    await env.waitStatus("config_update", "c5", "successful");
    assert.equal(readFileSync(join(env.dir, "app.conf"), "utf8"), "level=3\n");
    await fetch(`${files}/main/config_update/app-2`, { method: "PUT", body: "level=2\n" });
    await env.command("config_update", "c6", {
      status: "init",
      type: "app",
      tedgeUrl: `${files}/main/config_update/app-2`,
    });
    await env.waitStatus("config_update", "c6", "successful");
  });

  it("config_update from a missing file fails and keeps the old config", async () => {
    await env.command("config_update", "c4", { status: "init", type: "app", tedgeUrl: `${files}/missing` });
    assert.match(String((await env.waitStatus("config_update", "c4", "failed")).reason), /HTTP 404/);
    assert.equal(readFileSync(join(env.dir, "app.conf"), "utf8"), "level=2\n");
  });

  it("log_upload filters by time range and search text and uploads to tedgeUrl", async () => {
    writeFileSync(
      join(env.dir, "app.1.log"),
      "2024-05-01T08:00:00Z ERROR too early\n2024-05-01T10:00:00Z ERROR disk full\n  detail line\n",
    );
    writeFileSync(
      join(env.dir, "app.log"),
      "2024-05-01T10:30:00Z INFO fine\n2024-05-01T10:45:00Z ERROR again\n",
    );
    const url = `${files}/main/log_upload/app-1`;
    await env.command("log_upload", "g1", {
      status: "init",
      type: "app",
      tedgeUrl: url,
      dateFrom: "2024-05-01T09:00:00Z",
      dateTo: "2024-05-01T11:00:00+00:00",
      searchText: "error",
      lines: 1000,
    });
    await env.waitStatus("log_upload", "g1", "successful");
    assert.equal(
      await (await fetch(url)).text(),
      "2024-05-01T10:00:00Z ERROR disk full\n2024-05-01T10:45:00Z ERROR again\n",
    );
  });

  it("log_upload with a bad date fails", async () => {
    await env.command("log_upload", "g2", {
      status: "init",
      type: "app",
      tedgeUrl: `${files}/x`,
      dateFrom: "soon",
    });
    assert.match(String((await env.waitStatus("log_upload", "g2", "failed")).reason), /dateFrom/);
  });

  it("restart: executing until the agent comes back, then successful", async () => {
    await env.command("restart", "r1", { status: "init" });
    await env.waitStatus("restart", "r1", "executing");
    await waitFor("restart command ran", () => existsSync(join(env.dir, "restart.log")) || undefined);
    await sleep(200);
    assert.equal(JSON.parse(env.seen.get("te/device/main///cmd/restart/r1")!.toString()).status, "executing");
    await env.stopAgent();
    await env.startAgent();
    await env.waitStatus("restart", "r1", "successful");
  });
});

describe("restart command failure", () => {
  it("an agent that comes back in the same boot fails the restart (thin-edge: the system did not restart)", async () => {
    const env = await agentEnv("embedded", {
      "agent.restart.command": ["true"],
      "agent.restart.boot_id_file": "boot_id",
    });
    try {
      writeFileSync(join(env.dir, "boot_id"), "boot-1\n");
      await env.startAgent();
      await env.command("restart", "r3", { status: "init" });
      await env.waitStatus("restart", "r3", "executing");
      await env.stopAgent();
      await env.startAgent();
      assert.match(String((await env.waitStatus("restart", "r3", "failed")).reason), /did not restart/);
    } finally {
      await env.close();
    }
  });

  it("a failing restart command fails the operation with its stderr", async () => {
    const env = await agentEnv("embedded", {
      "agent.restart.command": ["/bin/sh", "-c", "echo 'reboot: permission denied' >&2; exit 1"],
    });
    try {
      await env.startAgent();
      await env.command("restart", "r2", { status: "init" });
      assert.match(String((await env.waitStatus("restart", "r2", "failed")).reason), /permission denied/);
    } finally {
      await env.close();
    }
  });
});

describe("commands published while the agent is down", () => {
  it("a retained init command is executed when the agent starts", async () => {
    const env = await agentEnv("embedded");
    try {
      env.plugin("fake", `[ "$1" = list ] && printf 'a\\t1\\n'\nexit 0`);
      await env.command("software_list", "early", { status: "init" });
      await waitFor("retained stored", () => env.seen.get("te/device/main///cmd/software_list/early"));
      await env.startAgent();
      await env.waitStatus("software_list", "early", "successful");
    } finally {
      await env.close();
    }
  });
});

describe("command state that cannot be persisted", () => {
  it("the command is refused with a reason rather than run unrecoverably", async () => {
    const env = await agentEnv("embedded");
    try {
      // A directory where the state file belongs: every write of it fails.
      mkdirSync(join(env.config.dataDir, "agent/commands.json/x"), { recursive: true });
      await env.startAgent();
      await env.command("software_list", "p1", { status: "init" });
      assert.match(
        String((await env.waitStatus("software_list", "p1", "failed")).reason),
        /cannot persist the command/,
      );
    } finally {
      await env.close();
    }
  });
});

describe("plugin output", () => {
  it("a multi-byte character split across two pipe reads arrives intact", async () => {
    const { runCommand } = await import("../../src/agent/process.ts");
    // one write of 64 KiB + 2 bytes: the pipe hands over 64 KiB, cutting 'é' in half
    const r = await runCommand([
      "/usr/bin/python3",
      "-c",
      "import sys; sys.stdout.buffer.write(b'a' * 65535 + 'é\\n'.encode()); sys.stderr.buffer.write(b'b' * 65535 + 'ü'.encode())",
    ]);
    assert.equal(r.stdout, `${"a".repeat(65535)}é\n`);
    assert.equal(r.stderr, `${"b".repeat(65535)}ü`);
  });
});

describe("download", () => {
  it("gives the file the requested mode even over a partial download a crash left behind", async () => {
    const { mkdtempSync, rmSync, statSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { download } = await import("../../src/agent/transfer.ts");
    const dir = mkdtempSync(join(tmpdir(), "ledge-download-"));
    try {
      const src = join(dir, "new.toml");
      writeFileSync(src, "password = 'x'\n");
      const dest = join(dir, "ledge.toml");
      writeFileSync(`${dest}.part-${process.pid}`, "half", { mode: 0o644 });
      await download(src, dest, undefined, 0o600);
      assert.equal(readFileSync(dest, "utf8"), "password = 'x'\n");
      assert.equal(statSync(dest).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
