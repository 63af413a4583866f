#!/usr/bin/env bash
# Installs what Packuilon needs on a Debian machine, then builds it. Safe to rerun.
#   scripts/setup.sh          git + packer + node modules + build (the main job)
#   scripts/setup.sh --test   also what the tests start themselves: rabbitmq-server, keystone (under uwsgi),
#                             glance-api, rally + rally-openstack, rsync (gitlab-ci-local), curl
#   scripts/setup.sh --bench  --test's, python3-pika for the seed's cdb2rabbit the queue bench runs side by side, and GNU time (peak RSS of bin/packuilon)
set -euo pipefail
cd "$(dirname "$0")/.."

want=(git packer)
[[ "${1:-}" == "--test" || "${1:-}" == "--bench" ]] && want+=(rabbitmq-server keystone glance-api rally python3-rally-openstack uwsgi uwsgi-plugin-python3 rsync curl)
[[ "${1:-}" == "--bench" ]] && want+=(python3-pika time)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  # No package may start a system service (broker, keystone, glance): tests run their own private ones.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null; $sudo chmod +x /usr/sbin/policy-rc.d; trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

if [[ ! -L node_modules && ( ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ) ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
