#!/usr/bin/env bash
# Throughput of the hardened nginx (rampart.hardening.nginx) against stock Debian nginx,
# on the same lab container, in one run, with wrk from the host machine.
#
#   bench/nginx_throughput.sh            # prints both RPS figures and the ratio
#   DURATION=20s CONNECTIONS=64 bench/nginx_throughput.sh
#   KEEP=1 bench/nginx_throughput.sh     # leave the container running afterwards
#
# What is compared (same static 1 KiB page, same certificate, HTTPS, keep-alive):
#   stock     Debian 12's own nginx.conf (TLS 1.0-1.3, server ciphers, no extra headers,
#             no limits) + one TLS server on :8443, run as a second nginx master;
#   hardened  the role's config on :443 (Mozilla intermediate, HTTP/2 listener, security
#             headers, limit_req and limit_conn bookkeeping, method check, body limit).
# The bench class keeps limit_req/limit_conn in the request path but with limits high
# enough that wrk is never rejected: a rejected request would measure the limit, not the cost.
#
# wrk runs on the host inside a private mount namespace whose /etc/hosts maps the site
# name to the container (SNI must name the site: unknown names are refused by design);
# the machine's own /etc/hosts is never touched.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

NAME=rampart-bench-nginx
NETWORK=rampart-bench
SITE=bench.lab.test
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}
WORK=$(mktemp -d /tmp/rampart-bench.XXXXXX)

command -v wrk >/dev/null || die "wrk is not installed on this machine"
cleanup() {
    if [[ -z "${KEEP:-}" ]]; then
        podman rm -f "$NAME" >/dev/null 2>&1 || true
        podman network rm "$NETWORK" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$RAMPART_ROOT/scripts/link-collection.sh"
log "starting lab container $NAME"
podman rm -f "$NAME" >/dev/null 2>&1 || true
podman network exists "$NETWORK" || podman network create "$NETWORK" >/dev/null
podman run -d --name "$NAME" --hostname bench --network "$NETWORK" --systemd=always \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN "$RAMPART_LAB_IMAGE" /sbin/init >/dev/null
for _ in $(seq 60); do
    state=$(podman exec "$NAME" systemctl is-system-running 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && break
    sleep 1
done

log "installing stock nginx and keeping a copy of its distro configuration"
podman exec "$NAME" sh -ec '
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx python3-cryptography >/dev/null
    mkdir -p /srv/bench && head -c 1024 /dev/urandom | base64 -w 64 > /srv/bench/index.html
    cp -a /etc/nginx /etc/nginx-stock
    sed -i "s#/etc/nginx/#/etc/nginx-stock/#g; s#/run/nginx.pid#/run/nginx-stock.pid#" /etc/nginx-stock/nginx.conf
    rm -f /etc/nginx-stock/sites-enabled/default'

log "applying rampart.hardening.nginx"
cat >"$WORK/inventory.ini" <<EOF
$NAME ansible_connection=containers.podman.podman ansible_python_interpreter=/usr/bin/python3
EOF
cat >"$WORK/bench.yml" <<EOF
- name: Hardened nginx for the throughput bench
  hosts: all
  gather_facts: false
  vars:
    rampart_nginx_classes:
      bench: {rate: 100000r/s, burst: 1000, limit_conn: 10000, methods: [GET, HEAD]}
    rampart_nginx_sites:
      - name: bench
        server_names: [$SITE]
        locations:
          - {path: /, class: bench, root: /srv/bench}
  roles:
    - rampart.hardening.nginx
EOF
CONTAINERS_CONF=$CONTAINERS_CONF ANSIBLE_PIPELINING=true \
    ansible-playbook -i "$WORK/inventory.ini" "$WORK/bench.yml" >"$WORK/ansible.log" 2>&1 ||
    { tail -40 "$WORK/ansible.log"; die "the role failed (log above)"; }

log "starting the stock nginx on :8443 with the same certificate"
podman exec "$NAME" sh -ec "
    cat > /etc/nginx-stock/sites-enabled/stock <<EOF
server {
    listen 8443 ssl http2;
    server_name $SITE;
    ssl_certificate /etc/rampart/tls/$SITE/fullchain.pem;
    ssl_certificate_key /etc/rampart/tls/$SITE/privkey.pem;
    root /srv/bench;
}
EOF
    nginx -t -q -c /etc/nginx-stock/nginx.conf
    nginx -c /etc/nginx-stock/nginx.conf"

IP=$(podman exec "$NAME" hostname -I | awk '{print $1}')
printf '127.0.0.1 localhost\n%s %s\n' "$IP" "$SITE" >"$WORK/hosts"

run_wrk() { # url -> requests/sec (fails on any error or non-2xx response)
    unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec wrk "$@"' sh "$WORK/hosts" \
        -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1" >"$WORK/wrk.out" 2>&1
    if grep -qE 'Non-2xx|Socket errors' "$WORK/wrk.out"; then
        cat "$WORK/wrk.out" >&2
        die "wrk saw errors against $1"
    fi
    awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.out"
}

log "warming up"
run_wrk "https://$SITE:8443/" >/dev/null
run_wrk "https://$SITE/" >/dev/null
stock_total=0
hardened_total=0
for round in $(seq "$ROUNDS"); do
    stock=$(run_wrk "https://$SITE:8443/")
    hardened=$(run_wrk "https://$SITE/")
    printf 'round %s: stock %s req/s, hardened %s req/s\n' "$round" "$stock" "$hardened"
    stock_total=$(awk -v a="$stock_total" -v b="$stock" 'BEGIN {print a + b}')
    hardened_total=$(awk -v a="$hardened_total" -v b="$hardened" 'BEGIN {print a + b}')
done
printf 'wrk -t%s -c%s -d%s, %s rounds, HTTPS keep-alive, same container, same certificate\n' \
    "$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS"
awk -v s="$stock_total" -v h="$hardened_total" -v n="$ROUNDS" 'BEGIN {
    printf "stock nginx:    %.0f req/s\n", s / n
    printf "hardened nginx: %.0f req/s\n", h / n
    printf "RPS ratio hardened/stock: %.3f\n", h / s
}'
