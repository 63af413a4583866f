#!/usr/bin/env bash
# Benchmarks: `packuilon detect` end to end (test/bench/detect-bench.ts → docs/benchmarks.md)
# and the queue consumer (test/bench/queue-bench.ts → docs/benchmarks-queue.md).
#   scripts/bench.sh                 both, full (N=20,000 hosts; ~10 min; the first run also generates the site)
#   scripts/bench.sh --quick         smoke run of both (small sizes), prints only
#   scripts/bench.sh --ci-plan-only  `ci plan` on 4,000 image folders and 1,000 commits (test/bench/ci-plan-bench.ts; BENCH_IMAGES, BENCH_COMMITS, BENCH_RUNS)
#   scripts/bench.sh --detect-only … / --queue-only … / --scale-only …   one of them, with its own options:
#   scripts/bench.sh --chain-only    the local stack's demo chain (test/support/chain.ts), BENCH_RUNS=3 runs, median per
#                                    stage, own RabbitMQ + Keystone + Glance (Glance token cache BENCH_TOKEN_CACHE=300 s)
#                                    (test/bench/chain-bench.ts → docs/benchmarks.md)
#   scripts/bench.sh --promote-only [--members N] [--runs R]   `ci promote` of one image with 50 members on a real
#                                    Keystone + Glance (test/bench/promote-bench.ts → docs/benchmarks.md)
#     detect: --profile, --only REGEX, BENCH_RUNS=N, BENCH_TOUCHED=T, BENCH_CLI=FILE, BENCH_AB="a=FILE,b=FILE"
#             (FILE: an .mjs entry run by node, or a launcher such as bin/packuilon run as it is),
#             BENCH_PROFILE_BUNDLE=1 (--profile runs the bundle, not the tsc output), BENCH_TIMELINE=1 (each run's
#             log lines as ms after spawn), BENCH_CDB2RABBIT=0 (no seed side by side); measures bin/packuilon (the
#             start-up snapshot); queue mode runs the seed's cdb2rabbit.py side by side (test/bench/seed-cdb2rabbit.ts)
#     scale:  --quick, --k-only, BENCH_RUNS=N, BENCH_CHECKOUT=true|false, BENCH_NODE_ARGS="--cpu-prof …"
#             (test/bench/scale-bench.ts: first import and K=1,000 on 3,800 images against git's fast-import floor)
#     queue:  --profile, --only REGEX, BENCH_RUNS=N, BENCH_SEED=S, BENCH_LATENCY_SECONDS=S
# The generated site is cached under .tmp/bench/ (keyed by its parameters and gen-site.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --bench # installs what is missing (a no-op when all is there), then builds
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Packuilon Bench" GIT_AUTHOR_EMAIL=bench@example.org
export GIT_COMMITTER_NAME="Packuilon Bench" GIT_COMMITTER_EMAIL=bench@example.org
case "${1:-}" in
  --detect-only) shift; exec node --import tsx test/bench/detect-bench.ts "$@" ;;
  --scale-only) shift; exec node --import tsx test/bench/scale-bench.ts "$@" ;;
  --queue-only) shift; exec node --import tsx test/bench/queue-bench.ts "$@" ;;
  --ci-plan-only) shift; exec node --import tsx test/bench/ci-plan-bench.ts "$@" ;;
  --rerender-only) shift; exec node --import tsx test/bench/rerender-bench.ts "$@" ;;
  --chain-only) shift; exec node --import tsx test/support/rabbit.ts node --import tsx test/bench/chain-bench.ts "$@" ;;
  --promote-only) shift; exec node --import tsx test/support/openstack.ts node --import tsx test/bench/promote-bench.ts "$@" ;;
esac
node --import tsx test/bench/detect-bench.ts "$@"
node --import tsx test/bench/queue-bench.ts "$@"
node --import tsx test/bench/rerender-bench.ts "$@"   # a template change: every image re-rendered (docs/benchmarks.md, by hand)
node --import tsx test/bench/scale-bench.ts "$@"
