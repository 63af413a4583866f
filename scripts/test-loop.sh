#!/usr/bin/env bash
# Run one test file again and again until it fails or hangs, keeping the logs:
# for intermittent failures (docs/decisions.md, "The queue test hang"). Not part
# of CI or scripts/test.sh: it is CPU-heavy, so it runs niced and bounded.
#   npm run test:loop -- FILE [RUNS (20, at most 100)] [SECONDS PER RUN (180)]
# Each run gets its own broker and a directory with test.log (the runner's
# output), cli.log (every in-process CLI run's stderr, logs at debug level) and
# rabbit-*/ (the broker's logs). A run past its time is a hang: its Node
# processes write a diagnostic report (open handles, stacks) there first.
# Passing runs' directories are deleted; the first failure or hang stops the loop.
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:?usage: npm run test:loop -- FILE [RUNS] [SECONDS]}
runs=${2:-20}
limit=${3:-180}
[[ -f "$file" ]] || { echo "test-loop: no such test file: $file" >&2; exit 2; }
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 && "$runs" -le 100 ]] || { echo "test-loop: RUNS must be 1..100" >&2; exit 2; }
[[ "$limit" =~ ^[0-9]+$ && "$limit" -ge 10 ]] || { echo "test-loop: SECONDS must be a number ≥ 10" >&2; exit 2; }
logs=$(mktemp -d "${TMPDIR:-/tmp}/packuilon-loop-XXXXXX")
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
set -m # each run in its own process group, so a hang is ended as a whole
for ((i = 1; i <= runs; i++)); do
  dir="$logs/run-$i"
  mkdir -p "$dir"
  started=$SECONDS
  PACKUILON_TEST_LOG_DIR="$dir" NODE_OPTIONS="--report-on-signal --report-signal=SIGUSR2 --report-directory=$dir" \
    nice -n 15 node --import tsx test/support/rabbit.ts \
    node --import tsx --test --test-reporter=spec --test-timeout=$(((limit - 5) * 1000)) "$file" >"$dir/test.log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && ((SECONDS - started < limit)); do sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then
    for node in $(pgrep -g "$pid" -x node || true); do kill -USR2 "$node" 2>/dev/null || true; done
    sleep 3
    kill -TERM "$pid" 2>/dev/null || true # the broker wrapper: stops its broker, keeps its logs
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "test-loop: run $i of $runs HUNG after ${limit}s; logs in $dir" >&2
    exit 1
  fi
  if wait "$pid"; then
    echo "test-loop: run $i of $runs passed in $((SECONDS - started))s"
    rm -rf "$dir"
  else
    echo "test-loop: run $i of $runs FAILED in $((SECONDS - started))s; logs in $dir" >&2
    tail -n 30 "$dir/test.log" >&2
    exit 1
  fi
done
rmdir "$logs" 2>/dev/null || true
echo "test-loop: $runs of $runs passed"
