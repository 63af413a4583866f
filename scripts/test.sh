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
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
# One private RabbitMQ for the run (tests that restart or kill a broker start their own),
# and one Keystone + Glance (test/support/openstack.ts): if either cannot start, the run fails.
exec node --import tsx test/support/rabbit.ts node --import tsx test/support/openstack.ts node --import tsx --test --test-reporter=spec --test-concurrency=2 --test-timeout=300000 "${files[@]}"
