/** `ledge diag collect`: what a support archive holds, and that credentials never get into it. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { shareable } from "../../src/cli/diag/redact.ts";
import { ledge } from "../helpers/cli.ts";

const SECRET = "s3cr3t-Pa55";

function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe("ledge diag collect", () => {
  it("config files shared as they are: none holding or named for a credential, not ledge.toml", () => {
    const rows: [string, string, boolean][] = [
      ["modbus.toml", "[[device]]", true],
      ["agent.toml", "[[log]]", true],
      ["ledge.toml", "[device]", false],
      ["device-key.pem", "x", false],
      ["passwords", "user:hash", false],
      ["cert.pem", "-----BEGIN PRIVATE KEY-----", false],
      ["device-cert.pem", "-----BEGIN CERTIFICATE-----", true],
      ["ledge.toml.tmp-123", "x", false],
    ];
    for (const [name, content, want] of rows) assert.equal(shareable(name, Buffer.from(content)), want, name);
  });

  it("writes a 0600 archive with versions, redacted config, device files, entities, queue stats", () => {
    const { dir } = tempConfigSync();
    const out = join(mkdtempSync(join(tmpdir(), "ledge-diag-out-")), "diag.tar.gz");
    const r = ledge(["-c", dir, "diag", "collect", "--output", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const x = mkdtempSync(join(tmpdir(), "ledge-diag-x-"));
    assert.equal(spawnSync("tar", ["-xzf", out, "-C", x]).status, 0);
    const [top] = readdirSync(x);
    const root = join(x, top!);
    const read = (p: string) => readFileSync(join(root, p), "utf8");
    assert.match(read("system.txt"), /^ledge \S+ \(\S+\)\nruntime: /);
    assert.match(read("config/effective.txt"), /^mqtt\.client\.password=<redacted> {2}\(file\)$/m);
    assert.match(read("config/effective.txt"), /^device\.id=test-device {2}\(file\)$/m);
    assert.equal(read("config/modbus.toml"), "# devices\n");
    assert.equal(read("data/entities.json"), '[{"@topic-id":"device/main//"}]');
    assert.match(read("data/queues.txt"), /^c8y\/seg-000001\.q {2}4096 bytes$/m);
    const names = walk(root).map((f) => f.slice(root.length + 1));
    assert.ok(!names.some((n) => n.includes("key") || n === "config/ledge.toml"), names.join(" "));
    assert.ok(!names.some((n) => n.startsWith("config/data/")), "data under the config dir is not config");
    for (const f of walk(root)) assert.ok(!readFileSync(f).includes(SECRET), `${f} leaks the password`);
  });
});

function tempConfigSync(): { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "ledge-diag-cfg-"));
  const data = join(dir, "data");
  writeFileSync(
    join(dir, "ledge.toml"),
    `[device]\nid = "test-device"\n[data]\npath = ${JSON.stringify(data)}\n[mqtt.client]\npassword = "${SECRET}"\n`,
  );
  writeFileSync(join(dir, "modbus.toml"), "# devices\n");
  writeFileSync(join(dir, "device-key.pem"), "-----BEGIN PRIVATE KEY-----\n");
  mkdirSync(join(data, "bridge", "c8y"), { recursive: true });
  writeFileSync(join(data, "bridge", "c8y", "seg-000001.q"), Buffer.alloc(4096));
  writeFileSync(join(data, "entities.json"), '[{"@topic-id":"device/main//"}]');
  return { dir };
}
