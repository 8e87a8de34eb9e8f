/**
 * The `apt` software plugin (thin-edge sm-plugin protocol) that `ledge init` installs as
 * `<agent.sm_plugins_dir>/apt`. Plain POSIX sh so it runs on any Debian-based device.
 * Exit 0 success, 1 failure with the reason on stderr (which becomes the command's reason).
 */
export const APT_PLUGIN_NAME = "apt";

export function aptPluginScript(): string {
  return `#!/bin/sh
# ledge sm-plugin for Debian packages: list | prepare | install NAME [--module-version V] [--file F]
#                                        | remove NAME [--module-version V] | finalize
set -u
export DEBIAN_FRONTEND=noninteractive
APT_OPTS="-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"

usage() { echo "usage: $0 list|prepare|install NAME [--module-version V] [--file F]|remove NAME|finalize" >&2; exit 1; }

cmd="\${1:-}"
[ $# -gt 0 ] && shift
name=""; version=""; file=""
if [ "$cmd" = install ] || [ "$cmd" = remove ]; then
  name="\${1:-}"; [ -n "$name" ] || usage; shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --module-version) version="\${2:-}"; shift 2 || usage ;;
      --file) file="\${2:-}"; shift 2 || usage ;;
      *) echo "unknown argument: $1" >&2; exit 1 ;;
    esac
  done
fi

run() { out=$("$@" 2>&1) || { printf '%s\\n' "$out" | tail -n 20 >&2; exit 1; }; }

case "$cmd" in
  list)
    dpkg-query -W -f='\${Package}\\t\${Version}\\t\${db:Status-Abbrev}\\n' | awk -F '\\t' '$3 ~ /^ii/ { print $1 "\\t" $2 }'
    ;;
  prepare)
    # An offline device can still install a downloaded .deb: a failed index refresh is only a warning.
    apt-get update -q >/dev/null 2>&1 || echo "warning: apt-get update failed; using the existing package index" >&2
    ;;
  install)
    if [ -n "$file" ]; then
      case "$file" in /*) ;; *) file="./$file" ;; esac
      # apt-get wants a .deb suffix to treat the argument as a file
      case "$file" in *.deb) deb="$file" ;; *) deb="$file.deb"; ln -sf "$file" "$deb" ;; esac
      # shellcheck disable=SC2086
      run apt-get install $APT_OPTS --allow-downgrades "$deb"
      [ "$deb" = "$file" ] || rm -f "$deb"
    elif [ -n "$version" ]; then
      # shellcheck disable=SC2086
      run apt-get install $APT_OPTS --allow-downgrades "$name=$version"
    else
      # shellcheck disable=SC2086
      run apt-get install $APT_OPTS "$name"
    fi
    ;;
  remove)
    # shellcheck disable=SC2086
    run apt-get remove $APT_OPTS "$name"
    ;;
  finalize)
    # shellcheck disable=SC2086
    run apt-get autoremove $APT_OPTS
    ;;
  *) usage ;;
esac
exit 0
`;
}

/** Installs the apt plugin into the plugin directory (used by `ledge init`). */
export async function installAptPlugin(pluginsDir: string): Promise<string> {
  const { mkdir, writeFile, chmod } = await import("node:fs/promises");
  const { join } = await import("node:path");
  await mkdir(pluginsDir, { recursive: true });
  const path = join(pluginsDir, APT_PLUGIN_NAME);
  await writeFile(path, aptPluginScript(), { mode: 0o755 });
  await chmod(path, 0o755);
  return path;
}
