#!/bin/sh
# Installs ledge from a release: picks the package for this machine's architecture, checks it
# against SHA256SUMS, installs the .deb with dpkg where there is one, else the tarball (creating
# the ledge user and its directories, and enabling the OpenRC or systemd service).
#   sh install.sh                       # from the release directory this script is in
#   LEDGE_RELEASE=https://host/ledge/v0.1.0 sh install.sh
# Options (environment): LEDGE_FORMAT=deb|tarball, LEDGE_ARCH=x64|arm64|armv7 (instead of uname -m),
# LEDGE_ROOT=DIR (install into DIR instead of /; tarball only, for images and tests).
set -eu

VERSION="@VERSION@"
BASE="${LEDGE_RELEASE:-$(cd "$(dirname "$0")" && pwd)}"
ROOT="${LEDGE_ROOT:-}"

arch="${LEDGE_ARCH:-}"
if [ -z "$arch" ]; then
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    armv7* | armv8l | armhf) arch=armv7 ;;
    *) echo "install.sh: no ledge build for $(uname -m) (x86_64, aarch64, armv7l)" >&2; exit 1 ;;
  esac
fi
case "$arch" in
  x64) deb=amd64 ;; arm64) deb=arm64 ;; armv7) deb=armhf ;;
  *) echo "install.sh: unknown LEDGE_ARCH '$arch' (x64, arm64, armv7)" >&2; exit 1 ;;
esac

format="${LEDGE_FORMAT:-}"
if [ -z "$format" ]; then
  if [ -z "$ROOT" ] && command -v dpkg >/dev/null 2>&1; then format=deb; else format=tarball; fi
fi
case "$format" in
  deb) file="ledge_${VERSION}_${deb}.deb" ;;
  tarball) file="ledge-${VERSION}-linux-${arch}.tar.xz" ;;
  *) echo "install.sh: unknown LEDGE_FORMAT '$format' (deb, tarball)" >&2; exit 1 ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fetch() {
  case "$BASE" in
    http://* | https://*)
      if command -v curl >/dev/null 2>&1; then curl -fsSL -o "$tmp/$1" "$BASE/$1"; else wget -qO "$tmp/$1" "$BASE/$1"; fi ;;
    *) cp "$BASE/$1" "$tmp/$1" ;;
  esac
}
fetch SHA256SUMS
fetch "$file"
grep "  $file\$" "$tmp/SHA256SUMS" > "$tmp/sum" || { echo "install.sh: $file is not in SHA256SUMS" >&2; exit 1; }
(cd "$tmp" && sha256sum -c sum >/dev/null) || { echo "install.sh: $file does not match SHA256SUMS" >&2; exit 1; }

if [ "$format" = deb ]; then
  dpkg -i "$tmp/$file"
  echo "installed $file; next: ledge config set device.id <id>, then systemctl start ledge"
  exit 0
fi

tar -xJf "$tmp/$file" -C "$tmp"
src="$tmp/ledge-${VERSION}-linux-${arch}"
mkdir -p "$ROOT/usr/bin" "$ROOT/etc/ledge/sm-plugins" "$ROOT/var/lib/ledge" "$ROOT/etc/sudoers.d" \
  "$ROOT/etc/init.d" "$ROOT/lib/systemd/system"
cp "$src/usr/bin/ledge" "$ROOT/usr/bin/ledge.new" && mv "$ROOT/usr/bin/ledge.new" "$ROOT/usr/bin/ledge"
cp "$src/etc/init.d/ledge" "$ROOT/etc/init.d/ledge"
cp "$src/lib/systemd/system/ledge.service" "$ROOT/lib/systemd/system/ledge.service"
[ -e "$ROOT/etc/sudoers.d/ledge" ] || cp "$src/etc/sudoers.d/ledge" "$ROOT/etc/sudoers.d/ledge"
[ -e "$ROOT/etc/ledge/ledge.toml" ] || cp "$src/etc/ledge/ledge.toml.default" "$ROOT/etc/ledge/ledge.toml"

id_of() { awk -F: -v n="$2" '$1 == n { print $3 }' "$ROOT/etc/$1" 2>/dev/null; }
if [ -z "$(id_of passwd ledge)" ]; then
  if command -v useradd >/dev/null 2>&1; then
    useradd ${ROOT:+--prefix "$ROOT"} --system --user-group --home-dir /var/lib/ledge --no-create-home \
      --shell /sbin/nologin ledge
  elif [ -z "$ROOT" ] && command -v adduser >/dev/null 2>&1; then
    addgroup -S ledge && adduser -S -D -H -h /var/lib/ledge -s /sbin/nologin -G ledge ledge # busybox
  else
    echo "install.sh: cannot create the ledge user (no useradd or adduser)" >&2; exit 1
  fi
fi
uid="$(id_of passwd ledge)"; gid="$(id_of group ledge)"
chown "$uid:$gid" "$ROOT/var/lib/ledge" "$ROOT/etc/ledge" "$ROOT/etc/ledge/sm-plugins" "$ROOT/etc/ledge/ledge.toml"
chmod 0750 "$ROOT/var/lib/ledge" "$ROOT/etc/ledge"
chmod 0640 "$ROOT/etc/ledge/ledge.toml"
chmod 0440 "$ROOT/etc/sudoers.d/ledge"

if [ -z "$ROOT" ]; then
  if command -v rc-update >/dev/null 2>&1; then rc-update add ledge default
  elif [ -d /run/systemd/system ]; then systemctl daemon-reload && systemctl enable ledge.service; fi
fi
echo "installed ledge $VERSION ($arch) into ${ROOT:-/}; next: ledge config set device.id <id>, then start the service"
