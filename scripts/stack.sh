#!/usr/bin/env bash
# The local stack: RabbitMQ, Keystone + Glance, the example Aquilon site server and an image
# repo with a bare git remote, all on loopback, started detached under a state dir
# ($PACKUILON_STACK_DIR, default ~/.local/state/packuilon-stack).
#   scripts/stack.sh up       install what is needed, start everything, print URLs and credentials
#   scripts/stack.sh demo     one profile change through the whole chain, stage by stage with timings
#   scripts/stack.sh status   what runs (by the PIDs recorded in the state dir)
#   scripts/stack.sh down     stop everything by PID and remove the state dir
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  up)
    scripts/setup.sh --test
    if ! command -v openstack >/dev/null; then
      sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-openstackclient >/dev/null
    fi ;;
  demo|down|status) ;;
  *) echo "usage: scripts/stack.sh up|demo|down|status" >&2; exit 2 ;;
esac
export GIT_CONFIG_GLOBAL="${GIT_CONFIG_GLOBAL:-/dev/null}" GIT_CONFIG_NOSYSTEM="${GIT_CONFIG_NOSYSTEM:-1}"
exec node --import tsx scripts/stack.ts "$1"
