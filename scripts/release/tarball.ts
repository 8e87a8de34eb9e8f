/**
 * The plain tarball of one target, `ledge-<version>-<target>.tar.xz`: the binary and the service
 * files for systemd and OpenRC (glibc systems without dpkg; Alpine needs `gcompat`, as Bun's
 * binaries are linked against glibc). `install.sh` installs it and creates the user and dirs.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openrcScript } from "../../src/agent/service-files.ts";
import type { Target } from "../../targets/index.ts";
import { CONFIG_DIR, DEFAULT_CONFIG, PACKAGE, payload, stage, USER } from "./deb.ts";

export function tarballName(version: string, t: Target): string {
  return `${PACKAGE}-${version}-${t.name}.tar.xz`;
}

export function buildTarball(o: {
  target: Target;
  binary: string;
  version: string;
  out: string;
  fast: boolean;
}): string {
  const top = `${PACKAGE}-${o.version}-${o.target.name}`;
  const dir = mkdtempSync(join(tmpdir(), "ledge-tar-"));
  try {
    const files = [
      // the config is shipped as a default, so unpacking over an installed ledge keeps its config
      ...payload(o.binary).filter((f) => !f.path.endsWith("ledge.toml")),
      { path: `${CONFIG_DIR.slice(1)}/ledge.toml.default`, text: DEFAULT_CONFIG, mode: 0o644 },
      {
        path: `etc/init.d/${PACKAGE}`,
        text: openrcScript({ command: ["/usr/bin/ledge"], configDir: CONFIG_DIR, user: USER, name: PACKAGE }),
        mode: 0o755,
      },
    ];
    stage(join(dir, top), files);
    const file = join(o.out, tarballName(o.version, o.target));
    const r = spawnSync(
      "tar",
      [
        "--owner=0",
        "--group=0",
        "--sort=name",
        "-C",
        dir,
        "-cf",
        file,
        "-I",
        o.fast ? "xz -0 -T0" : "xz -9e -T0",
        top,
      ],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr || r.error?.message}`);
    return file;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
