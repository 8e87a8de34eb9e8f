/**
 * The Debian package of one target: file tree, control file and maintainer scripts. Pure text
 * builders (tested as tables) plus `buildDeb`, which stages the tree and runs `dpkg-deb`.
 *
 * The maintainer scripts honour `DPKG_ROOT` (dpkg's chrootless mode), so the tests can install,
 * upgrade and purge the package into a directory with `dpkg --root DIR --force-script-chrootless`
 * without touching the build machine.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { systemdUnit } from "../../src/agent/service-files.ts";
import type { Target } from "../../targets/index.ts";

export const PACKAGE = "ledge";
export const CONFIG_DIR = "/etc/ledge";
export const DATA_DIR = "/var/lib/ledge";
export const USER = "ledge";

/** Debian's name for a target's architecture. */
export function debArch(t: Target): "amd64" | "arm64" | "armhf" {
  return t.arch === "x64" ? "amd64" : t.arch === "arm64" ? "arm64" : "armhf";
}

/**
 * The packaged ledge.toml: what differs from the built-in defaults for a packaged install. The
 * service runs as the `ledge` user, so privileged actions go through sudo (the package's sudoers
 * drop-in allows exactly those), as thin-edge's packages do with `sudo.enable`.
 */
export const DEFAULT_CONFIG = `# ledge configuration. Every key, its default and its meaning: \`ledge config list --all\`
# (or the README's Configuration section). Edit with \`ledge config set KEY VALUE\`.
# Before the first start: \`ledge config set device.id <your device id>\`.

[data]
path = "${DATA_DIR}"

[sudo]
enable = true
`;

export const SUDOERS = `# ledge runs as the unprivileged '${USER}' user; these are the privileged commands its agent needs
# (the restart operation and the apt software plugin), as thin-edge's packages allow for tedge.
${USER} ALL = (root) NOPASSWD: /sbin/reboot, /usr/sbin/reboot, /usr/bin/apt-get, ${CONFIG_DIR}/sm-plugins/*
`;

export function control(o: { version: string; arch: string; installedKiB: number }): string {
  return `Package: ${PACKAGE}
Version: ${o.version}
Architecture: ${o.arch}
Maintainer: ledge developers <ledge@users.noreply.github.com>
Installed-Size: ${o.installedKiB}
Section: net
Priority: optional
Recommends: sudo
Homepage: https://github.com/ledge/ledge
Description: lean IoT edge agent, thin-edge.io compatible, in one binary
 A local MQTT broker, thin-edge's te/ JSON-over-MQTT API, cloud mappers and a
 store-and-forward bridge (Cumulocity, Azure, AWS, any MQTT broker), Modbus and
 serial drivers, device management (operations, software, config, logs,
 firmware) and the ledge CLI.
`;
}

export const CONFFILES = `${CONFIG_DIR}/ledge.toml\n/etc/sudoers.d/${PACKAGE}\n`;

/** Shell that every maintainer script starts with: the root dpkg works on, and id lookups in it. */
const PRELUDE = `#!/bin/sh
set -e
ROOT="\${DPKG_ROOT:-}"
id_of() { awk -F: -v n="$2" '$1 == n { print $3 }' "$ROOT/etc/$1"; }
on_systemd() { [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }
`;

export const POSTINST = `${PRELUDE}
[ "$1" = configure ] || exit 0
if [ -z "$(id_of passwd ${USER})" ]; then
  # --prefix edits the passwd/group files under ROOT without chroot (dpkg --root in the tests)
  useradd \${ROOT:+--prefix "$ROOT"} --system --user-group --home-dir ${DATA_DIR} --no-create-home \\
    --shell /usr/sbin/nologin --comment "ledge IoT edge agent" ${USER}
fi
uid=$(id_of passwd ${USER})
gid=$(id_of group ${USER})
mkdir -p "$ROOT${DATA_DIR}" "$ROOT${CONFIG_DIR}/sm-plugins"
# The agent writes its config dir (config_update, plugins) and its data dir; nobody else reads them.
chown "$uid:$gid" "$ROOT${DATA_DIR}" "$ROOT${CONFIG_DIR}" "$ROOT${CONFIG_DIR}/sm-plugins" "$ROOT${CONFIG_DIR}/ledge.toml"
chmod 0750 "$ROOT${DATA_DIR}" "$ROOT${CONFIG_DIR}"
chmod 0640 "$ROOT${CONFIG_DIR}/ledge.toml"
if on_systemd; then
  systemctl daemon-reload
  systemctl enable ${PACKAGE}.service >/dev/null
  # an upgrade restarts a running ledge on the new binary; a first install waits for device.id
  [ -z "$2" ] || systemctl try-restart ${PACKAGE}.service
fi
`;

export const PRERM = `${PRELUDE}
if [ "$1" = remove ] && on_systemd; then
  systemctl stop ${PACKAGE}.service || true
  systemctl disable ${PACKAGE}.service >/dev/null || true
fi
`;

export const POSTRM = `${PRELUDE}
on_systemd && systemctl daemon-reload || true
[ "$1" = purge ] || exit 0
# Purge removes what ledge created at run time as well: data (queues, entity store), config dir, user.
rm -rf "$ROOT${DATA_DIR}" "$ROOT${CONFIG_DIR}"
if [ -n "$(id_of passwd ${USER})" ]; then
  userdel \${ROOT:+--prefix "$ROOT"} ${USER} || true
fi
`;

/** The files of the package, as (path in the root, content or source file, mode). */
export function payload(binary: string): StagedFile[] {
  return [
    { path: "usr/bin/ledge", from: binary, mode: 0o755 },
    {
      path: `lib/systemd/system/${PACKAGE}.service`,
      text: systemdUnit({ command: ["/usr/bin/ledge"], configDir: CONFIG_DIR, user: USER, name: PACKAGE }),
      mode: 0o644,
    },
    { path: `${CONFIG_DIR.slice(1)}/ledge.toml`, text: DEFAULT_CONFIG, mode: 0o640 },
    { path: `etc/sudoers.d/${PACKAGE}`, text: SUDOERS, mode: 0o440 },
  ];
}

export interface StagedFile {
  path: string;
  from?: string;
  text?: string;
  mode: number;
}

/** Writes `files` under `dir` with their modes; returns their total size in bytes. */
export function stage(dir: string, files: StagedFile[]): number {
  let bytes = 0;
  for (const f of files) {
    const dest = join(dir, f.path);
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    if (f.from) copyFileSync(f.from, dest);
    else writeFileSync(dest, f.text ?? "");
    chmodSync(dest, f.mode);
    bytes += statSync(dest).size;
  }
  return bytes;
}

/** Stages the tree and writes `<out>/ledge_<version>_<arch>.deb`; returns its path. */
export function buildDeb(o: {
  target: Target;
  binary: string;
  version: string;
  out: string;
  fast: boolean;
}): string {
  const root = mkdtempSync(join(tmpdir(), "ledge-deb-"));
  try {
    const bytes = stage(root, payload(o.binary));
    const debian = join(root, "DEBIAN");
    mkdirSync(debian, { mode: 0o755 });
    const arch = debArch(o.target);
    const meta: [string, string, number][] = [
      ["control", control({ version: o.version, arch, installedKiB: Math.ceil(bytes / 1024) }), 0o644],
      ["conffiles", CONFFILES, 0o644],
      ["postinst", POSTINST, 0o755],
      ["prerm", PRERM, 0o755],
      ["postrm", POSTRM, 0o755],
    ];
    for (const [name, text, mode] of meta) {
      writeFileSync(join(debian, name), text);
      chmodSync(join(debian, name), mode);
    }
    const file = join(o.out, `${PACKAGE}_${o.version}_${arch}.deb`);
    const r = spawnSync(
      "dpkg-deb",
      ["--root-owner-group", ...(o.fast ? ["-Znone"] : ["-Zxz", "-z9"]), "--build", root, file],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`dpkg-deb failed: ${r.stderr || r.error?.message}`);
    return file;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
