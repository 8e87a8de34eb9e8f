/**
 * Remote access (`c8y_RemoteAccessConnect`, SmartREST 530) end to end: the c8y mapper opens the
 * device WebSocket on a stand-in of Cumulocity's remote access service and carries real SSH
 * sessions (Debian's sshd and ssh on loopback) to the allowed local port.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createC8yMapperComponent } from "../../src/mappers/c8y/component.ts";
import { allowed, parse530, tunnelUrl } from "../../src/mappers/c8y/remote-access/request.ts";
import { type RemoteAccessStandIn, startRemoteAccessStandIn } from "../helpers/c8y-remote-access.ts";
import { type Harness, startHarness } from "../helpers/mappers-bus.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { type Sshd, startSshd } from "../helpers/sshd.ts";

const run = promisify(execFile);

describe("remote access requests (pure)", () => {
  it("530,<device>,<host>,<port>,<key>", () =>
    assert.deepEqual(parse530("530,dev,127.0.0.1,22,abc-123"), {
      ok: true,
      value: { host: "127.0.0.1", port: 22, key: "abc-123" },
    }));
  it("a bad port is refused", () => assert.equal(parse530("530,dev,h,99999,k").ok, false));
  it("the allow list matches host and port, or any port with *", () => {
    assert.ok(allowed(["127.0.0.1:22"], "127.0.0.1", 22));
    assert.ok(!allowed(["127.0.0.1:22"], "127.0.0.1", 23));
    assert.ok(allowed(["[::1]:*"], "::1", 8080));
    assert.ok(!allowed(["localhost:22"], "example.com", 22));
  });
  it("the device endpoint", () =>
    assert.equal(
      tunnelUrl("wss://t.example.com/", "k1"),
      "wss://t.example.com/service/remoteaccess/device/k1",
    ));
});

describe("remote access through the c8y mapper", () => {
  let h: Harness;
  let sshd: Sshd;
  let cloud: RemoteAccessStandIn;
  let byePort: number;
  let deniedPort: number;
  const byeServer = createServer((s) => s.end("bye\n"));

  before(async () => {
    sshd = await startSshd();
    byePort = await freePort();
    deniedPort = await freePort();
    await new Promise<void>((r) => byeServer.listen(byePort, "127.0.0.1", () => r()));
    let client: Harness["client"] | undefined;
    cloud = await startRemoteAccessStandIn(async (line) => {
      await client!.publishAsync("c8y/s/ds", line, { qos: 1 });
    }, "test-device");
    h = await startHarness("embedded", [createC8yMapperComponent], {
      "c8y.remote_access.enable": true,
      "c8y.remote_access.endpoint": cloud.endpoint,
      "c8y.remote_access.allow": [`127.0.0.1:${sshd.port}`, `127.0.0.1:${byePort}`],
    });
    client = h.client;
    // Cumulocity's side of the JWT request (certificate-authenticated device).
    h.client.on("message", (topic) => {
      if (topic === "c8y/s/uat") void h.client.publishAsync("c8y/s/dat", `71,${cloud.token}`);
    });
    // Any change to the operation files re-sends 114 (the start-up one predates the test's client).
    mkdirSync(join(h.config.dir, "operations", "c8y"), { recursive: true });
    writeFileSync(join(h.config.dir, "operations", "c8y", "c8y_Restart"), "");
    await h.expect("c8y/s/us", "114,c8y_RemoteAccessConnect,c8y_Restart");
  });
  after(async () => {
    await h.stop();
    await cloud.stop();
    await sshd.stop();
    byeServer.close();
  });

  it("two concurrent SSH sessions, each carrying its data intact", async () => {
    const from = h.seen.length;
    const data = randomBytes(1_500_000);
    const file = join(h.config.dir, "payload.bin");
    writeFileSync(file, data);
    const want = createHash("sha256").update(data).digest("hex");
    const one = async (n: number) => {
      const s = await cloud.session("127.0.0.1", sshd.port);
      const { stdout } = await run("sh", [
        "-c",
        `ssh ${sshd
          .sshArgs(s.userPort)
          .map((a) => `'${a}'`)
          .join(" ")} 'sleep 1; echo session-${n}; sha256sum' < '${file}'`,
      ]);
      return stdout;
    };
    const [a, b] = await Promise.all([one(1), one(2)]);
    assert.match(a, new RegExp(`session-1\\n${want}`));
    assert.match(b, new RegExp(`session-2\\n${want}`));
    assert.ok(cloud.maxOpen >= 2, "both tunnels were open at once");
    for (const r of cloud.requests.slice(-2)) {
      assert.match(r.url, /^\/service\/remoteaccess\/device\/[0-9a-f]{24}$/);
      assert.equal(r.authorization, `Bearer ${cloud.token}`);
      assert.equal(r.protocol, "binary");
      assert.equal(r.refused, undefined);
    }
    const ok = h.seen.slice(from).filter((s) => s.payload === "503,c8y_RemoteAccessConnect");
    assert.equal(ok.length, 2);
    await waitFor("sshd connections closed", () => sshd.connections() === 0 || undefined);
  });

  it("a session aborted mid-transfer closes the device's connection to sshd", async () => {
    const s = await cloud.session("127.0.0.1", sshd.port);
    const ssh: ChildProcess = spawn("ssh", [...sshd.sshArgs(s.userPort), "cat /dev/zero"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let got = 0;
    ssh.stdout?.on("data", (d: Buffer) => {
      got += d.length;
    });
    await waitFor("transfer under way", () => got > 2_000_000 || undefined, 20_000);
    assert.ok(sshd.connections() >= 1, "positive control: sshd serves the session");
    ssh.kill("SIGKILL");
    await waitFor("stand-in saw the tunnel close", () => cloud.closed.find((c) => c.key === s.key));
    await waitFor("sshd connection closed by the device", () => sshd.connections() === 0 || undefined);
  });

  it("the local service closing first closes the WebSocket", async () => {
    const s = await cloud.session("127.0.0.1", byePort);
    const sock = (await import("node:net")).connect(s.userPort, "127.0.0.1");
    let text = "";
    sock.on("data", (d) => {
      text += d;
    });
    await new Promise((r) => sock.once("close", r));
    assert.equal(text, "bye\n");
    const c = await waitFor("closed", () => cloud.closed.find((x) => x.key === s.key));
    assert.equal(c.by, "device");
  });

  it("a host:port outside c8y.remote_access.allow is refused with 502", async () => {
    const from = h.seen.length;
    await h.publish("c8y/s/ds", `530,test-device,127.0.0.1,${deniedPort},k9`);
    const r = await waitFor("502", () =>
      h.seen.slice(from).find((m) => m.payload.startsWith("502,c8y_RemoteAccessConnect")),
    );
    assert.match(r.payload, /not allowed/);
    assert.ok(!cloud.requests.some((q) => q.url.endsWith("/k9")), "no WebSocket was opened");
  });

  it("a revoked JWT: the WebSocket is refused (502), the next request fetches a new token and connects", async () => {
    const from = h.seen.length;
    cloud.token = randomBytes(24).toString("base64url");
    const first = await cloud.session("127.0.0.1", byePort);
    const user = (await import("node:net")).connect(first.userPort, "127.0.0.1");
    const r = await waitFor("502", () =>
      h.seen.slice(from).find((m) => m.payload.startsWith("502,c8y_RemoteAccessConnect")),
    );
    assert.match(r.payload, /HTTP 401/);
    user.destroy();
    const again = await cloud.session("127.0.0.1", byePort);
    const sock = (await import("node:net")).connect(again.userPort, "127.0.0.1");
    let text = "";
    sock.on("data", (d) => {
      text += d;
    });
    await new Promise((res) => sock.once("close", res));
    assert.equal(text, "bye\n");
  });
});
