#!/bin/sh
# Runs inside the test VM (VMTasks.boot_runcommand_delete of boot-runcommand-delete.yaml):
# the checks a person did by hand on a new image. Exit 0 only if every one holds.
#   $1  the services that must be active, space-separated  [sshd]
set -u
services="${1:-sshd}"
failed=0
fail() { echo "check-image: FAIL: $*" >&2; failed=1; }
ok() { echo "check-image: ok: $*"; }

# 1. The personality the image was built for (instance metadata AQ_PERSONALITY)
#    is the personality of the profile quattor fetched for this host.
meta=$(curl -sf --max-time 10 http://169.254.169.254/openstack/latest/meta_data.json || true)
want=$(printf '%s' "$meta" | sed -n 's/.*"AQ_PERSONALITY": *"\([^"]*\)".*/\1/p')
[ -n "$want" ] || fail "no AQ_PERSONALITY in the instance metadata"

# 2. quattor-fetch and quattor-configure --all run clean.
if quattor-fetch >/tmp/check-image-fetch.log 2>&1; then ok "quattor-fetch"; else fail "quattor-fetch exited $? (see /tmp/check-image-fetch.log)"; fi
if quattor-configure --all >/tmp/check-image-configure.log 2>&1; then ok "quattor-configure --all"; else fail "quattor-configure --all exited $?"; fi
if grep -q '\[ERROR\]' /tmp/check-image-configure.log; then fail "quattor-configure --all logged errors"; fi

if [ -n "$want" ]; then
    got=$(ccm --format=query show /system/personality/name 2>/dev/null | sed -n "s/.*= *'\{0,1\}\([^';]*\).*/\1/p" | head -n 1)
    if [ "$got" = "$want" ]; then ok "personality $want"; else fail "personality: metadata says '$want', the profile says '${got:-nothing}'"; fi
fi

# 3. The key services are up.
for service in $services; do
    if systemctl is-active --quiet "$service"; then ok "service $service active"; else fail "service $service not active"; fi
done
exit "$failed"
