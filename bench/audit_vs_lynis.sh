#!/usr/bin/env bash
# Benchmark: Rampart's host-side audit vs `lynis audit system --quick` on one lab container
# with nginx, PostgreSQL and Redis installed. Both run alternately N times in the same
# container; prints both medians, the ratio and how many checks each ran.
#
#   bench/audit_vs_lynis.sh [N]        (default N=5; target: Rampart full run <= 1 s)
#
# Starts the container rampart-bench-audit itself and removes it at the end.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

runs="${1:-5}"
name=rampart-bench-audit
collection_dir=/opt/rampart/collections

cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

log "starting $name from $RAMPART_LAB_IMAGE"
podman rm -f "$name" >/dev/null 2>&1 || true
podman run -d --name "$name" --hostname bench --cap-add SYS_ADMIN --cap-add NET_ADMIN \
  --systemd=always "$RAMPART_LAB_IMAGE" /sbin/init >/dev/null
for _ in $(seq 1 30); do
  state="$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)"
  [[ "$state" == running || "$state" == degraded ]] && break
  sleep 1
done

log "installing nginx, postgresql, redis (image cache) and lynis (apt)"
# Lab only: Debian's redis unit needs PrivateUsers=false to start in these containers.
podman exec "$name" bash -c 'mkdir -p /etc/systemd/system/redis-server.service.d &&
  printf "[Service]\nPrivateUsers=false\n" > /etc/systemd/system/redis-server.service.d/lab.conf && systemctl daemon-reload'
podman exec -e DEBIAN_FRONTEND=noninteractive "$name" bash -c \
  'apt-get install -y -q nginx postgresql redis-server python3-cryptography >/dev/null 2>&1 ||
   (apt-get update -q >/dev/null && apt-get install -y -q nginx postgresql redis-server python3-cryptography >/dev/null)'
podman exec -e DEBIAN_FRONTEND=noninteractive "$name" bash -c \
  'apt-get install -y -q lynis >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q lynis >/dev/null)'
podman exec "$name" systemctl start nginx postgresql redis-server

log "copying the collection into the container"
podman exec "$name" mkdir -p "$collection_dir/ansible_collections/rampart"
tar -C "$RAMPART_ROOT" --exclude=.venv --exclude=.cache --exclude=.git --exclude=molecule --exclude=tests \
  --exclude=reports -cf - . | podman exec -i "$name" bash -c \
  "mkdir -p $collection_dir/ansible_collections/rampart/hardening && tar -C $collection_dir/ansible_collections/rampart/hardening -xf -"

rampart_cmd="PYTHONPATH=$collection_dir python3 -m ansible_collections.rampart.hardening.plugins.module_utils.cli --format json > /tmp/rampart.json"
lynis_cmd="lynis audit system --quick --no-colors > /tmp/lynis.out 2>&1"

# Wall time of one command measured inside the container (podman exec overhead is not
# counted for either tool).
time_in() {
  podman exec "$name" python3 -c "
import subprocess, time
start = time.monotonic()
subprocess.run('$1', shell=True, check=False)
print(f'{time.monotonic() - start:.3f}')"
}

log "warm-up (one run each, not counted)"
time_in "$rampart_cmd" >/dev/null
time_in "$lynis_cmd" >/dev/null

rampart_times=()
lynis_times=()
for i in $(seq 1 "$runs"); do
  rampart_times+=("$(time_in "$rampart_cmd")")
  lynis_times+=("$(time_in "$lynis_cmd")")
  printf '  run %d: rampart %ss  lynis %ss\n' "$i" "${rampart_times[-1]}" "${lynis_times[-1]}"
done

rampart_checks="$(podman exec "$name" python3 -c "
import json; r = json.load(open('/tmp/rampart.json'))
ran = [f for f in r['findings'] if f['status'] != 'not_applicable']
print(f\"{len(r['findings'])} checks ({len(ran)} applicable, {r['counts']['status']['error']} errors); grade {r['overall']['grade']} score {r['overall']['score']}\")")"
lynis_checks="$(podman exec "$name" bash -c "grep -oE 'Tests performed *: *[0-9]+' /var/log/lynis.log /tmp/lynis.out 2>/dev/null | tail -1 | grep -oE '[0-9]+\$' ||
  grep -c 'Performing test ID' /var/log/lynis.log")"
lynis_index="$(podman exec "$name" bash -c "grep -oE 'Hardening index *: *[0-9]+' /tmp/lynis.out | grep -oE '[0-9]+\$'" || echo '?')"

python3 - "$runs" "${rampart_times[*]}" "${lynis_times[*]}" "$rampart_checks" "$lynis_checks" "$lynis_index" <<'PY'
import statistics, sys
runs, rampart, lynis, rampart_checks, lynis_checks, lynis_index = sys.argv[1:]
r = statistics.median(float(x) for x in rampart.split())
l = statistics.median(float(x) for x in lynis.split())
print(f"runs each:        {runs} (alternating, after one warm-up each)")
print(f"rampart median:   {r:.3f} s   ({rampart_checks})")
print(f"lynis median:     {l:.3f} s   ({lynis_checks} tests performed, hardening index {lynis_index})")
print(f"ratio lynis/rampart: {l / r:.1f}x")
print(f"target rampart <= 1 s: {'met' if r <= 1.0 else 'NOT met'}")
PY
