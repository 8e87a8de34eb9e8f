#!/bin/sh
# The whole test suite, from a fresh clone: installs system and npm dependencies, type-checks,
# lints, builds every binary, runs every test file with node's test runner, and ends with
# `N passed, N failed` (type-check and lint count as one test each).
set -u
cd "$(dirname "$0")/.."

sh scripts/test-deps.sh || { echo "test-deps failed"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

pre_pass=0
pre_fail=0
step() {
  name=$1
  shift
  echo "== $name"
  if "$@"; then pre_pass=$((pre_pass + 1)); else pre_fail=$((pre_fail + 1)); echo "== $name FAILED"; fi
}
step typecheck node_modules/.bin/tsc -p tsconfig.json --noEmit
step typecheck-console-page node_modules/.bin/tsc -p src/agent/console/ui/tsconfig.json --noEmit
step lint node_modules/.bin/biome check .
step build node --import tsx build.ts

out=$(mktemp)
files=$(find test -name '*.test.ts' | sort)
# Files run in parallel processes; most tests wait on brokers and ptys, not the CPU.
# No single test may hang CI: 5 minutes each. No --test-force-exit: with process isolation it drops
# the tail of a file's verdicts before the parent reads them (nodejs/node#64833), failures included;
# seen here as totals of 2086-2091 for the same tree. A file that leaks a handle hangs loudly instead.
timeout 3600 node --import tsx --test --test-concurrency="${LEDGE_TEST_CONCURRENCY:-3}" \
  --test-timeout=300000 --test-reporter=spec $files | tee "$out"
# The spec reporter's summary: "ℹ pass N", "ℹ fail N", "ℹ cancelled N".
count() { sed -n "s/^ℹ $1 \([0-9]*\)$/\1/p" "$out" | tail -1; }
pass=$(count pass)
fail=$(count fail)
cancelled=$(count cancelled)
[ -n "$pass" ] || { echo "the test runner printed no summary"; fail=$(( ${fail:-0} + 1 )); }
rm -f "$out"
pass=$(( ${pass:-0} + pre_pass ))
fail=$(( ${fail:-0} + ${cancelled:-0} + pre_fail ))
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
