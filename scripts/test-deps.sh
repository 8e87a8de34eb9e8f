#!/bin/sh
# Installs what the test suite needs from Debian's packages, only where missing: a real MQTT
# broker, pty pairs, an independent Modbus implementation and CBOR decoder, qemu with the arm
# sysroots for the arm64/armv7 binaries, and the armv7 strip tool the build uses. Idempotent;
# quiet when everything is present.
set -eu

PKGS="mosquitto mosquitto-clients socat qemu-user-static libc6-arm64-cross libc6-armhf-cross \
libstdc++6-arm64-cross libstdc++6-armhf-cross libatomic1-armhf-cross libatomic1-arm64-cross \
python3-pymodbus python3-cbor2 python3-paho-mqtt mbpoll openssl binutils-arm-linux-gnueabihf sudo xz-utils zsh fish chromium \
openssh-server openssh-client"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "test-deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
