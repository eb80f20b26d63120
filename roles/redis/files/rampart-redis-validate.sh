#!/bin/sh
# Managed by Ansible (rampart.hardening.redis); local changes are overwritten.
#
#   rampart-redis-validate config FILE   # a candidate redis.conf
#   rampart-redis-validate acl FILE      # a candidate ACL file
#
# Proves that this host's redis-server accepts a candidate file BEFORE it replaces the live
# one (the role calls it from the template module's `validate`). Redis has no "config test"
# switch (`--test-memory` tests RAM, redis-check-* read data files), and a text check would
# miss what only fails when the server starts: an unknown directive or bad value, an ACL
# rule or password hash redis rejects, a TLS key that is unreadable or does not match its
# certificate. So this starts a throwaway redis-server on the candidate with:
#   - no TCP listener (port 0, tls-port 0), only a unix socket in a private temp directory;
#   - an empty data directory and no snapshots, so no data is loaded or written;
#   - with TLS configured, tls-replication on: that builds the TLS context (certificate,
#     key, CA) exactly as a TLS listener would, without opening a port.
# Valid means the server answers on its socket (PONG or NOAUTH: the ACL file is loaded by
# then, since redis only serves clients after loading users); invalid means it exits, and
# its log is printed. Nothing on the live server is touched.
set -eu

usage() { echo "usage: $0 config|acl FILE" >&2; exit 2; }
[ $# -eq 2 ] || usage
mode=$1
file=$2
[ -r "$file" ] || { echo "cannot read $file" >&2; exit 2; }

work=$(mktemp -d /tmp/rampart-redis-validate.XXXXXX)
pid=""
# shellcheck disable=SC2317  # invoked by the EXIT trap below
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

sock="$work/redis.sock"
set -- --port 0 --tls-port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$work" \
    --save "" --daemonize no --supervised no --pidfile "$work/redis.pid" --logfile ""

case "$mode" in
    config)
        if grep -Eq '^[[:space:]]*tls-cert-file[[:space:]]' "$file"; then
            set -- "$@" --tls-replication yes
        fi
        redis-server "$file" "$@" >"$work/log" 2>&1 &
        ;;
    acl)
        redis-server "$@" --aclfile "$file" >"$work/log" 2>&1 &
        ;;
    *) usage ;;
esac
pid=$!

tries=0
while [ "$tries" -lt 100 ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "redis-server refused the candidate $mode file:" >&2
        grep -v '^\s*$' "$work/log" | tail -n 20 >&2
        exit 1
    fi
    if [ -S "$sock" ]; then
        reply=$(timeout 5 redis-cli -s "$sock" PING 2>&1 || true)
        case "$reply" in
            PONG | NOAUTH*) exit 0 ;;
        esac
    fi
    sleep 0.1
    tries=$((tries + 1))
done
echo "redis-server did not answer within 10 seconds with the candidate $mode file" >&2
tail -n 20 "$work/log" >&2
exit 1
