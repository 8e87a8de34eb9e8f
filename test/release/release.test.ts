/**
 * `npm run release` artefacts, installed the way an operator installs them: the .deb into a
 * directory with dpkg (chrootless maintainer scripts, as `dpkg --root` runs them), upgraded with an
 * edited config and purged; the arm packages' binaries run under qemu; install.sh picks this
 * machine's architecture, checks SHA256SUMS and installs the tarball with the user and dirs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { commandFor, ensureBuilt, target, unavailable } from "../helpers/targets-bin.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const UPGRADE = `${VERSION}+upgrade.1`;

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: 300_000,
    ...opts,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function release(out: string, version: string, targets: string[]): void {
  const r = sh(process.execPath, [
    "--import",
    "tsx",
    join(ROOT, "scripts/release.ts"),
    "--fast",
    "--out",
    out,
    "--version",
    version,
    "--targets",
    targets.join(","),
  ]);
  assert.equal(r.code, 0, r.out);
}

/** An empty system for dpkg: its database and the account files useradd edits with --prefix. */
function emptyRoot(): string {
  const r = mkdtempSync(join(tmpdir(), "ledge-dpkg-root-"));
  for (const d of ["var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"])
    mkdirSync(join(r, d), { recursive: true });
  writeFileSync(join(r, "var/lib/dpkg/status"), "");
  writeFileSync(join(r, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(r, "etc/group"), "root:x:0:\n");
  writeFileSync(join(r, "etc/shadow"), "root:*:19000:0:99999:7:::\n");
  writeFileSync(join(r, "etc/gshadow"), "root:*::\n");
  return r;
}

const dpkg = (root: string, ...args: string[]) =>
  sh("dpkg", [`--root=${root}`, "--force-script-chrootless", "--log=/dev/null", "--force-confold", ...args]);

const uidOf = (root: string) =>
  Number(/^ledge:x:(\d+):/m.exec(readFileSync(join(root, "etc/passwd"), "utf8"))?.[1] ?? Number.NaN);

const skip =
  unavailable(target("linux-armv7")) ||
  unavailable(target("linux-arm64")) ||
  unavailable(target("linux-x64"));

describe("release artefacts", { skip: skip || undefined }, () => {
  const out = mkdtempSync(join(tmpdir(), "ledge-release-"));
  const next = mkdtempSync(join(tmpdir(), "ledge-release-next-"));
  before(() => {
    ensureBuilt(["linux-x64", "linux-arm64", "linux-armv7"]);
    release(out, VERSION, ["linux-x64", "linux-arm64", "linux-armv7"]);
    release(next, UPGRADE, ["linux-x64"]);
  });

  it("SHA256SUMS covers every artefact and matches", () => {
    const sums = readFileSync(join(out, "SHA256SUMS"), "utf8");
    for (const f of [
      `ledge_${VERSION}_amd64.deb`,
      `ledge_${VERSION}_armhf.deb`,
      `ledge-${VERSION}-linux-x64.tar.xz`,
      `ledge-${VERSION}-linux-armv7.tar.xz`,
      "install.sh",
    ])
      assert.match(sums, new RegExp(`^[0-9a-f]{64}  ${f.replace(/[.+]/g, "\\$&")}$`, "m"));
    const r = sh("sha256sum", ["-c", "SHA256SUMS"], { cwd: out });
    assert.equal(r.code, 0, r.out);
  });

  it("each .deb declares its architecture and carries binary, unit, config and sudoers rule", () => {
    for (const [arch, name] of [
      ["amd64", "linux-x64"],
      ["armhf", "linux-armv7"],
    ] as const) {
      const deb = join(out, `ledge_${VERSION}_${arch}.deb`);
      assert.equal(sh("dpkg-deb", ["-f", deb, "Architecture"]).out.trim(), arch, name);
      const list = sh("dpkg-deb", ["-c", deb]).out;
      for (const f of [
        "./usr/bin/ledge",
        "./lib/systemd/system/ledge.service",
        "./etc/ledge/ledge.toml",
        "./etc/sudoers.d/ledge",
      ])
        assert.ok(list.includes(f), `${f} in ${deb}`);
    }
  });

  it("installs into a clean root: ledge user, owned dirs, a unit running as ledge, a working binary", () => {
    const root = emptyRoot();
    const r = dpkg(root, "-i", join(out, `ledge_${VERSION}_amd64.deb`));
    assert.equal(r.code, 0, r.out);
    const uid = uidOf(root);
    assert.ok(uid > 0 && uid < 1000, `a system user: ${uid}`);
    for (const d of ["var/lib/ledge", "etc/ledge"]) {
      const st = statSync(join(root, d));
      assert.equal(st.uid, uid, d);
      assert.equal(st.mode & 0o777, 0o750, d);
    }
    assert.equal(statSync(join(root, "etc/ledge/ledge.toml")).mode & 0o777, 0o640);
    const unit = readFileSync(join(root, "lib/systemd/system/ledge.service"), "utf8");
    assert.match(unit, /^User=ledge$/m);
    assert.match(unit, /^ExecStart=\/usr\/bin\/ledge run --config-dir \/etc\/ledge$/m);
    const v = sh(join(root, "usr/bin/ledge"), [
      "--config-dir",
      join(root, "etc/ledge"),
      "config",
      "get",
      "sudo.enable",
    ]);
    assert.equal(v.out.trim(), "true", v.out);
  });

  it("upgrades keeping the operator's config and data, then purges everything it created", () => {
    const root = emptyRoot();
    assert.equal(dpkg(root, "-i", join(out, `ledge_${VERSION}_amd64.deb`)).code, 0);
    const toml = join(root, "etc/ledge/ledge.toml");
    writeFileSync(toml, `${readFileSync(toml, "utf8")}\n[device]\nid = "gw-42"\n`);
    writeFileSync(join(root, "var/lib/ledge/entities.json"), "[]");
    const up = dpkg(root, "-i", join(next, `ledge_${UPGRADE}_amd64.deb`));
    assert.equal(up.code, 0, up.out);
    assert.match(
      sh("dpkg", [`--root=${root}`, "-s", "ledge"]).out,
      new RegExp(`^Version: ${UPGRADE.replace("+", "\\+")}$`, "m"),
    );
    assert.match(readFileSync(toml, "utf8"), /id = "gw-42"/, "conffile kept");
    assert.ok(existsSync(join(root, "var/lib/ledge/entities.json")), "data kept");
    assert.equal(readFileSync(join(root, "etc/passwd"), "utf8").match(/^ledge:/gm)?.length, 1, "one user");
    const purge = dpkg(root, "--purge", "ledge");
    assert.equal(purge.code, 0, purge.out);
    for (const p of [
      "usr/bin/ledge",
      "etc/ledge",
      "var/lib/ledge",
      "lib/systemd/system/ledge.service",
      "etc/sudoers.d/ledge",
    ])
      assert.ok(!existsSync(join(root, p)), `${p} removed`);
    assert.doesNotMatch(readFileSync(join(root, "etc/passwd"), "utf8"), /^ledge:/m);
  });

  for (const [arch, name] of [
    ["arm64", "linux-arm64"],
    ["armhf", "linux-armv7"],
  ] as const)
    it(`the ${arch} package's binary runs (qemu)`, () => {
      const x = mkdtempSync(join(tmpdir(), `ledge-${arch}-`));
      assert.equal(sh("dpkg-deb", ["-x", join(out, `ledge_${VERSION}_${arch}.deb`), x]).code, 0);
      const [cmd, args] = commandFor(target(name), ["--version"]);
      const bin = join(x, "usr/bin/ledge");
      const r = sh(
        cmd,
        args.map((a) => (a.endsWith(`ledge-${name}`) ? bin : a)),
      );
      assert.match(r.out, new RegExp(`^ledge ${VERSION.replace(/\./g, "\\.")} `), r.out);
    });

  it("install.sh picks this machine's architecture, checks SHA256SUMS and installs the tarball", () => {
    const root = emptyRoot();
    const r = sh("sh", [join(out, "install.sh")], { env: { LEDGE_ROOT: root, LEDGE_FORMAT: "tarball" } });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\(x64\)/);
    assert.match(
      sh(join(root, "usr/bin/ledge"), ["--version"]).out,
      new RegExp(`^ledge ${VERSION.replace(/\./g, "\\.")} `),
    );
    assert.ok(uidOf(root) > 0);
    assert.equal(statSync(join(root, "var/lib/ledge")).uid, uidOf(root));
    assert.match(readFileSync(join(root, "etc/init.d/ledge"), "utf8"), /^#!\/sbin\/openrc-run/);
  });

  it("install.sh refuses a package that does not match SHA256SUMS", () => {
    const copy = mkdtempSync(join(tmpdir(), "ledge-release-bad-"));
    cpSync(out, copy, { recursive: true });
    const tar = join(copy, `ledge-${VERSION}-linux-x64.tar.xz`);
    writeFileSync(tar, Buffer.concat([readFileSync(tar), Buffer.from("tampered")]));
    const root = emptyRoot();
    const r = sh("sh", [join(copy, "install.sh")], { env: { LEDGE_ROOT: root, LEDGE_FORMAT: "tarball" } });
    assert.equal(r.code, 1);
    assert.match(r.out, /does not match SHA256SUMS/);
    assert.ok(!existsSync(join(root, "usr/bin/ledge")));
  });
});
