#!/usr/bin/env bash
# Every test: type check, lint, unit, integration (real git, Packer, RabbitMQ), end to end.
#   scripts/test.sh          everything (installs what it needs first)
#   scripts/test.sh --fast   skips the *.slow.test.ts files (broker faults, races)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
npx tsc --noEmit -p .
npx eslint --max-warnings 0 .
npm run --silent schema -- --check

mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [[ "${1:-}" == "--fast" ]]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -v '\.slow\.test\.ts$')
fi
# *.cloud.test.ts talk to the real Keystone + Glance: a file of them may take longer than 300 s on a
# busy machine, so they run after the others with a 30 min budget per test (their tests set 15 min).
mapfile -t cloud < <(printf '%s\n' "${files[@]}" | grep '\.cloud\.test\.ts$' || true)
mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -v '\.cloud\.test\.ts$')
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
# One private RabbitMQ for the run (tests that restart or kill a broker start their own),
# and one Keystone + Glance (test/support/openstack.ts): if either cannot start, the run fails.
exec node --import tsx test/support/rabbit.ts node --import tsx test/support/openstack.ts bash -c '
  n=$1; shift
  node --import tsx --test --test-reporter=spec --test-concurrency=2 --test-timeout=300000 "${@:1:n}"; a=$?
  b=0; if (( $# > n )); then node --import tsx --test --test-reporter=spec --test-concurrency=2 --test-timeout=1800000 "${@:n+1}"; b=$?; fi
  exit $(( a != 0 ? a : b ))' _ "${#files[@]}" "${files[@]}" "${cloud[@]}"
