#!/bin/sh
# `npm start`: ledge with the embedded broker on 127.0.0.1:1883 and a working default config in
# ./.ledge (device id = host name, data in ./.ledge/data). Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
dir=${LEDGE_CONFIG_DIR:-.ledge}
[ -f "$dir/ledge.toml" ] || {
  mkdir -p "$dir"
  node --import tsx src/cli/main.ts --config-dir "$dir" config set data.path data
  node --import tsx src/cli/main.ts --config-dir "$dir" init
}
exec node --import tsx src/cli/main.ts --config-dir "$dir" run "$@"
