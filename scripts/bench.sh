#!/usr/bin/env bash
# End-to-end benchmark of `packuilon detect` (test/bench/detect-bench.ts).
#   scripts/bench.sh                 full run (N=20,000 hosts, ~2 min; the first run also generates the site), updates docs/benchmarks.md
#   scripts/bench.sh --quick         smoke run for CI (N=2,000, 3 runs), prints only
#   scripts/bench.sh --profile       also one profiled run per scenario (--cpu-prof, git timings)
#   scripts/bench.sh --only REGEX    only the scenarios whose id matches (e.g. 'queue|startup'), prints only
#   BENCH_RUNS=N                     runs per scenario (default 5; quick 3)
#   BENCH_TOUCHED=T                  touched-only recompiles per run (default 100)
#   BENCH_CLI=FILE                   benchmark another entry point (A/B of a fix), prints only
#   BENCH_AB="a=FILE,b=FILE"         interleaved A/B of entry points (the first writes the baselines), prints only
# The generated site is cached under .tmp/bench/ (keyed by its parameters and gen-site.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d node_modules ]] || npm ci --no-audit --no-fund
npm run --silent build
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Packuilon Bench" GIT_AUTHOR_EMAIL=bench@example.org
export GIT_COMMITTER_NAME="Packuilon Bench" GIT_COMMITTER_EMAIL=bench@example.org
exec node --import tsx test/bench/detect-bench.ts "$@"
# Queue mode (not run by this script; consume throughput, latency, durability → docs/benchmarks-queue.md): npm run --silent build && node --import tsx test/bench/queue-bench.ts [--quick] [--only REGEX] [--profile]
