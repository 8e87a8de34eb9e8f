import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { installServiceFiles, openrcScript, systemdUnit, sysvScript } from "../../src/agent/service-files.ts";
import { SdNotifier, watchdogIntervalMs } from "../../src/app/sd-notify.ts";
import { waitFor } from "../helpers/ports.ts";

const opts = { command: ["/usr/bin/ledge"], configDir: "/etc/ledge", watchdogSec: 30 };

describe("service files", () => {
  it("systemd unit: notify type, watchdog, restart, ExecStart", () => {
    const u = systemdUnit(opts);
    assert.match(u, /^Type=notify$/m);
    assert.match(u, /^NotifyAccess=all$/m);
    assert.match(u, /^WatchdogSec=30$/m);
    assert.match(u, /^Restart=always$/m);
    assert.match(u, /^ExecStart=\/usr\/bin\/ledge run --config-dir \/etc\/ledge$/m);
    assert.match(u, /^WantedBy=multi-user.target$/m);
  });
  it("systemd unit quotes paths with spaces and escapes %", () => {
    const u = systemdUnit({ command: ["/opt/my ledge/ledge"], configDir: "/etc/100%" });
    assert.match(u, /^ExecStart="\/opt\/my ledge\/ledge" run --config-dir \/etc\/100%%$/m);
    assert.match(u, /^WatchdogSec=60$/m);
  });
  it("a script install runs interpreter + script", () =>
    assert.match(
      systemdUnit({ command: ["/usr/bin/node", "/opt/ledge/ledge.mjs"], configDir: "/etc/ledge" }),
      /ExecStart=\/usr\/bin\/node \/opt\/ledge\/ledge.mjs run/,
    ));
  it("OpenRC script uses supervise-daemon", () => {
    const s = openrcScript({ ...opts, user: "ledge" });
    assert.match(s, /^#!\/sbin\/openrc-run$/m);
    assert.match(s, /^supervisor=supervise-daemon$/m);
    assert.match(s, /^command=\/usr\/bin\/ledge$/m);
    assert.match(s, /^command_args="run --config-dir \/etc\/ledge"$/m);
    assert.match(s, /^command_user="ledge"$/m);
  });
  it("plain init script is valid sh with start/stop/status", async () => {
    const s = sysvScript(opts);
    assert.match(s, /\/usr\/bin\/ledge run --config-dir \/etc\/ledge/);
    const code = await new Promise<number | null>((resolve) => {
      const p = spawn("/bin/sh", ["-n"], { stdio: ["pipe", "ignore", "ignore"] });
      p.stdin.end(s);
      p.on("exit", resolve);
    });
    assert.equal(code, 0);
  });
  it("installs files with their modes under a root", async () => {
    const root = mkdtempSync(join(tmpdir(), "ledge-svc-"));
    try {
      const r = await installServiceFiles("sysv", opts, root);
      assert.deepEqual(r.files, [join(root, "etc/init.d/ledge")]);
      assert.equal(statSync(r.files[0]!).mode & 0o777, 0o755);
      const s = await installServiceFiles("systemd", opts, root);
      assert.match(readFileSync(s.files[0]!, "utf8"), /WatchdogSec/);
      assert.match(s.enable, /systemctl enable --now ledge/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("sd_notify", () => {
  it("watchdog interval is half of WATCHDOG_USEC, only for our pid", () => {
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }), 15_000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "1" }, 2), undefined);
    assert.equal(watchdogIntervalMs({}), undefined);
  });
  it("does nothing without NOTIFY_SOCKET", async () => {
    assert.equal(await new SdNotifier({ env: {} }).notify("READY=1"), false);
  });

  const dir = mkdtempSync(join(tmpdir(), "ledge-notify-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it("sends READY=1 and WATCHDOG=1 datagrams to a unix datagram socket", async () => {
    const sock = join(dir, "notify");
    // A real AF_UNIX SOCK_DGRAM receiver, as systemd has (Node cannot bind one).
    const rx = spawn(
      "/usr/bin/python3",
      [
        "-c",
        "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('bound',flush=True)\nwhile True:\n  print(s.recv(4096).decode().replace('\\n',' '),flush=True)\n",
        sock,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    rx.stdout.on("data", (d) => {
      out += d;
    });
    try {
      await waitFor("receiver bound", () => out.includes("bound"));
      const n = new SdNotifier({ env: { ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: "1000000" } });
      await n.start();
      await waitFor("READY=1", () => out.includes("READY=1"));
      await waitFor("WATCHDOG=1 keepalive", () => out.includes("WATCHDOG=1"), 5000);
      await n.stop();
      await waitFor("STOPPING=1", () => out.includes("STOPPING=1"));
    } finally {
      rx.kill();
    }
  });
});

describe("self-update under a supervisor", () => {
  it("restart command: configured, else the supervisor's own", async () => {
    const { supervisorRestart } = await import("../../src/agent/agent-component.ts");
    assert.deepEqual(supervisorRestart(["x"], { INVOCATION_ID: "1" }), ["x"]);
    assert.deepEqual(supervisorRestart([], { INVOCATION_ID: "1" }), ["systemctl", "restart", "ledge"]);
    assert.deepEqual(supervisorRestart([], { RC_SVCNAME: "ledge2" }), ["rc-service", "ledge2", "restart"]);
    assert.deepEqual(supervisorRestart([], {}), []);
  });
  it("the plain init script runs self-updates in supervisor mode and restarts itself on rollback", () => {
    const s = sysvScript(opts);
    assert.match(s, /^export LEDGE_AGENT_SELF_UPDATE_RESTART=supervisor$/m);
    assert.match(
      s,
      /^export LEDGE_AGENT_SELF_UPDATE_SUPERVISOR_RESTART='\["\/etc\/init.d\/ledge","restart"\]'$/m,
    );
  });
});

describe("ledge init hooks", () => {
  it("installs the apt plugin (Debian) and the service files for the init system", async () => {
    const { initAgent } = await import("../../src/agent/init-hooks.ts");
    const { loadConfig } = await import("../../src/config/store.ts");
    const root = mkdtempSync(join(tmpdir(), "ledge-init-"));
    try {
      const config = loadConfig(join(root, "etc/ledge"), {});
      const lines = await initAgent(config, {
        service: true,
        root,
        init: "openrc",
        command: ["/usr/bin/ledge"],
      });
      const plugin = join(root, "etc/ledge/sm-plugins/apt");
      assert.ok(lines.includes(`plugin: ${plugin}`), lines.join("\n"));
      assert.equal(statSync(plugin).mode & 0o777, 0o755);
      assert.match(readFileSync(join(root, "etc/init.d/ledge"), "utf8"), /supervise-daemon/);
      assert.match(lines.at(-1) ?? "", /rc-update add ledge/);
      // The installed plugin speaks the protocol: `list` prints name<TAB>version lines.
      const out = await new Promise<string>((resolve) => {
        const p = spawn(plugin, ["list"], { stdio: ["ignore", "pipe", "ignore"] });
        let s = "";
        p.stdout.on("data", (d) => {
          s += d;
        });
        p.on("exit", () => resolve(s));
      });
      assert.match(out.split("\n")[0] ?? "", /^[a-z0-9][\w.+-]*\t\S+$/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("apt plugin script", () => {
  const runPlugin = async (args: string[]) => {
    const { aptPluginScript } = await import("../../src/agent/plugins/apt.ts");
    return new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn("/bin/sh", ["-s", ...args], { stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      p.stderr.on("data", (d) => {
        stderr += d;
      });
      p.on("exit", (code) => resolve({ code, stderr }));
      p.stdin.end(aptPluginScript());
    });
  };
  it("an unknown package fails with apt's message on stderr", async () => {
    const r = await runPlugin(["install", "ledge-no-such-package-xyz", "--module-version", "1.0"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ledge-no-such-package-xyz|lock|permission/i);
  });
  it("bad usage fails with a usage message", async () => {
    const r = await runPlugin(["frobnicate"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /usage/);
    assert.equal((await runPlugin(["install"])).code, 1);
    assert.equal((await runPlugin(["install", "x", "--bogus"])).code, 1);
  });
});
