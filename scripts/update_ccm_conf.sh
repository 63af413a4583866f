#!/bin/sh
# Runs inside the Packer build VM (file + shell provisioners of templates/*.json):
# point CCM at this VM's own Aquilon profile, then quattor fetch + configure.
# Adapted from stfc/packuilon etc/packer-utils/templates/update_ccm_conf.sh:
# the profile URL is a setting instead of a hard-coded site, the waits are
# bounded, and any reverse-DNS domain works (the seed only stripped ".ac.uk.").
#
#   AQ_PROFILE_BASE  Aquilon profile directory URL  [http://aquilon.example.org/profiles]
#   AQ_WAIT_TRIES    tries for DNS (5 s apart) and for quattor fetch (10 s apart)  [60]
set -eu

base="${AQ_PROFILE_BASE:-http://aquilon.example.org/profiles}"
tries="${AQ_WAIT_TRIES:-60}"

ip=$(hostname -I | awk '{print $1}')
echo "ccm update: waiting for the DNS name of ${ip}"
host=""
n=0
while [ -z "$host" ]; do
    host=$(dig +short -x "$ip" 2>/dev/null | head -n 1 | sed 's/\.$//')
    if [ -z "$host" ]; then
        n=$((n + 1))
        if [ "$n" -ge "$tries" ]; then
            echo "ccm update: no DNS name for ${ip}, giving up" >&2
            exit 1
        fi
        echo "ccm update: networking not ready, sleeping"
        sleep 5
    fi
done
case "$host" in
    *[!A-Za-z0-9.-]*)
        echo "ccm update: refusing unexpected host name '${host}'" >&2
        exit 1
        ;;
esac
echo "ccm update: host is ${host}"

cat > /etc/ccm.conf <<EOF
retrieve_retries 3
profile ${base}/${host}.json
get_timeout 30
world_readable 0
force 0
cache_root /var/lib/ccm
retrieve_wait 30
lock_retries 3
lock_wait 30
debug 0
EOF

fetch() {
    if command -v quattor-fetch >/dev/null 2>&1; then quattor-fetch; else quattor fetch; fi
}
configure() {
    if command -v quattor-configure >/dev/null 2>&1; then quattor-configure --all; else quattor configure --all; fi
}

echo "ccm update: fetching profile"
n=0
until fetch; do
    n=$((n + 1))
    if [ "$n" -ge "$tries" ]; then
        echo "ccm update: quattor fetch kept failing, giving up" >&2
        exit 1
    fi
    echo "ccm update: sleeping until quattor fetch can lock"
    sleep 10
done

echo "ccm update: running quattor configure"
configure

# Site hook (the seed always ran it; it is optional here).
if [ -x /usr/local/bin/prepvm-managed.sh ]; then
    /usr/local/bin/prepvm-managed.sh
fi
