#!/usr/bin/env bash
# The main job on the embedded default: the example Aquilon site → a fresh image
# repo → `packuilon detect` (direct mode: no broker, no GitLab, no cloud) → history.
#   scripts/demo.sh [DIR]     (DIR defaults to .tmp/demo; it is recreated)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
dir="${1:-.tmp/demo}"
rm -rf "$dir"
packuilon() { node "$OLDPWD/bin/packuilon.mjs" "$@"; }
bin/packuilon.mjs init "$dir" --index-dir examples/site/profiles --match .cloud.template.json
cd "$dir"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-Packuilon demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@localhost}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-Packuilon demo}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-demo@localhost}"
git add -A && git commit --quiet -m "image repo scaffolded by packuilon init"
echo "--- packuilon detect" >&2
LOG_LEVEL="${LOG_LEVEL:-warn}" packuilon detect
echo "--- packuilon detect (again: nothing changed, nothing committed)" >&2
LOG_LEVEL="${LOG_LEVEL:-warn}" packuilon detect
echo "--- packuilon history" >&2
packuilon history
echo "--- the image repo is in $PWD (git log, images/)" >&2
