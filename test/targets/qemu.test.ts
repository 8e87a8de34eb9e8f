/**
 * The arm64 (Bun) and armv7 (Node SEA) binaries under qemu-user with Debian's cross sysroots:
 * `--version`, and one pub/sub round trip where the broker, the publisher and the subscriber are all
 * the emulated binary. The armv7 binary also loads its embedded serialport addon (the serial driver in
 * each binary is exercised by test/drivers/serial-binaries.test.ts).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { canConnect, freePort, waitFor } from "../helpers/ports.ts";
import {
  cleanEnv,
  type Daemon,
  ensureBuilt,
  runBinary,
  startBinary,
  target,
  tempConfigDir,
} from "../helpers/targets-bin.ts";

for (const name of ["linux-arm64", "linux-armv7"]) {
  const t = target(name);
  const emulation = t.emulation;
  const missing =
    !emulation || !existsSync(emulation.sysroot)
      ? `qemu sysroot for ${name} missing (scripts/test-deps.sh)`
      : false;

  describe(`${name} binary under qemu`, { skip: missing }, () => {
    let port = 0;
    let cfg: ReturnType<typeof tempConfigDir>;
    let broker: Daemon | undefined;

    before(async () => {
      ensureBuilt([name]);
      port = await freePort();
      cfg = tempConfigDir(port);
    });

    after(async () => {
      await broker?.stop();
      cfg?.cleanup();
    });

    test("--version", { timeout: 30_000 }, async () => {
      const r = await runBinary(t, ["--version"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout.trim(), /^ledge \d+\.\d+\.\d+\S* \(([0-9a-f]{4,}|unknown)\)$/);
    });

    test("pub/sub round trip through its own embedded broker", { timeout: 60_000 }, async () => {
      broker = startBinary(t, ["--config-dir", cfg.dir, "broker"]);
      await waitFor(`the emulated broker on port ${port}`, () => canConnect(port), 30_000, 100);
      const topic = `test/${name}/roundtrip`;
      const payload = `{"from":"${name}"}`;
      // retained, so the subscriber gets it however long its emulated start-up takes
      const pub = await runBinary(t, ["--config-dir", cfg.dir, "mqtt", "pub", topic, payload, "--retain"]);
      assert.equal(pub.code, 0, pub.stderr);
      const sub = await runBinary(t, ["--config-dir", cfg.dir, "mqtt", "sub", topic, "--count", "1"], {
        timeoutMs: 30_000,
      });
      assert.equal(sub.code, 0, sub.stderr);
      assert.equal(sub.stdout.trim(), `[${topic}] ${payload}`);
      assert.equal(await broker.stop(), 0, broker.output());
    });

    if (t.runtime === "node-sea" && t.serialportPrebuild) {
      test("loads the embedded serialport addon", { timeout: 30_000 }, async () => {
        const cache = mkdtempSync(join(tmpdir(), "ledge-native-"));
        try {
          const r = await runBinary(t, ["--version"], {
            env: cleanEnv({ LEDGE_NATIVE_DIR: cache, LEDGE_SELFTEST: "serialport" }),
          });
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /serialport binding: .*\bopen\b/);
          assert.ok(
            readdirSync(cache).some((f) => /^serialport-[0-9a-f]{16}\.node$/.test(f)),
            "addon extracted to the cache dir",
          );
        } finally {
          rmSync(cache, { recursive: true, force: true });
        }
      });
    }
  });
}
