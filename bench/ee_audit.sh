#!/usr/bin/env bash
# Bench (not in CI): playbooks/audit.yml through the execution environment with
# ansible-navigator, against a lab of its own, compared with a plain ansible-playbook run of
# the same playbook on the same hosts at the same timestamp. Fails unless both runs give the
# same grade and score per host, the same verdict for every check and the same report files.
# Prints image size, build time (when it builds) and both run times.
#
#   bash bench/ee_audit.sh            # (re)builds localhost/rampart-ee:latest from the work tree first
#   RAMPART_EE_BENCH_STOCK=1 ...      # audit stock hosts only (no nginx role on the edge host first)
#   RAMPART_EE_BENCH_KEEP=1 ...       # keep the lab containers afterwards
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$RAMPART_ROOT"

image="${RAMPART_EE_IMAGE:-localhost/rampart-ee:latest}"
ee_venv="${RAMPART_EE_VENV:-$RAMPART_ROOT/.cache/ee-venv}"
work="$RAMPART_ROOT/.cache/ee/bench"
network=rampart-eebench
hosts=(rampart-eebench-edge rampart-eebench-db rampart-eebench-cache)
groups=(edge db cache)
sock="$work/podman.sock"
service_pid=""

cleanup() {
  [[ -n "$service_pid" ]] && kill "$service_pid" 2>/dev/null || true
  if [[ -z "${RAMPART_EE_BENCH_KEEP:-}" ]]; then
    for host in "${hosts[@]}"; do podman rm -f "$host" >/dev/null 2>&1 || true; done
    podman network rm "$network" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# Rebuild unless scripts/ee.sh has just built it: an image holding an older copy of the
# collection would (rightly) not match a plain run of the work tree.
build_seconds="(built by scripts/ee.sh just before)"
if [[ -z "${RAMPART_EE_BENCH_BUILT:-}" ]]; then
  started=$SECONDS
  scripts/ee.sh build
  build_seconds="$((SECONDS - started)) s (podman layer cache warm unless the first build)"
fi
[[ -x "$ee_venv/bin/ansible-navigator" ]] || die "no ansible-navigator in $ee_venv: run scripts/ee.sh build"

log "lab: ${hosts[*]}"
rm -rf "$work" && mkdir -p "$work/inventory"
podman network exists "$network" || podman network create "$network" >/dev/null
{
  echo "all:"
  echo "  vars:"
  echo "    ansible_connection: containers.podman.podman"
  echo "    ansible_python_interpreter: /usr/bin/python3"
  echo "  children:"
  for i in "${!hosts[@]}"; do
    printf '    %s:\n      hosts:\n        %s:\n' "${groups[$i]}" "${hosts[$i]}"
  done
} >"$work/inventory/hosts.yml"
# The lab's settings (its controller-side state lands in .cache/ee/.cache/lab, not the demo's).
cp -r inventories/lab/group_vars "$work/inventory/"
for host in "${hosts[@]}"; do
  podman container exists "$host" && podman rm -f "$host" >/dev/null
  podman run -d --name "$host" --hostname "$host" --network "$network" \
    --systemd=always --cap-add SYS_ADMIN --cap-add NET_ADMIN "$RAMPART_LAB_IMAGE" /sbin/init >/dev/null
done
for host in "${hosts[@]}"; do
  timeout 90 podman exec "$host" systemctl is-system-running --wait >/dev/null 2>&1 || true
done
# A host that has just booted can still refuse the first exec (exit 255): wait until all answer.
for try in $(seq 10); do
  ansible -i "$work/inventory/hosts.yml" all -m ansible.builtin.ping >/dev/null 2>&1 && break
  [[ $try == 10 ]] && die "the lab hosts do not answer ansible.builtin.ping"
  sleep 2
done

converge_seconds="skipped (RAMPART_EE_BENCH_STOCK=1: stock hosts)"
if [[ -z "${RAMPART_EE_BENCH_STOCK:-}" ]]; then
  # A hardened nginx on the edge host gives the audit something to judge: a TLS endpoint for
  # the live probes, where the EE's own OpenSSL and Python do the handshakes. db and cache stay
  # stock (the lab's group_vars for them name the demo lab's edge host).
  log "converge the edge host with the nginx role"
  printf '%s\n' "- name: Edge" "  hosts: edge" "  roles: [rampart.hardening.nginx]" >"$work/edge.yml"
  started=$SECONDS
  ansible-playbook -i "$work/inventory/hosts.yml" "$work/edge.yml" >"$work/site.log" 2>&1 ||
    { tail -40 "$work/site.log" >&2; die "site.yml failed on the bench lab"; }
  converge_seconds="$((SECONDS - started)) s"
fi

timestamp="$(date -u +%Y%m%dT%H%M%SZ)"
common=(-i "$work/inventory/hosts.yml" -e "rampart_audit_timestamp=$timestamp")

log "plain ansible-playbook run"
started=$SECONDS
ansible-playbook playbooks/audit.yml "${common[@]}" -e "rampart_audit_report_dir=$work/reports-plain" \
  >"$work/plain.log" 2>&1 || { tail -40 "$work/plain.log" >&2; die "plain run failed"; }
plain_seconds=$((SECONDS - started))

log "podman API service for the EE's containers.podman connection"
podman system service --time=0 "unix://$sock" >"$work/podman-service.log" 2>&1 &
service_pid=$!
for _ in $(seq 50); do [[ -S "$sock" ]] && break; sleep 0.2; done
[[ -S "$sock" ]] || die "podman system service did not open $sock"

# In the EE: the image's collections only (the work tree's ansible.cfg would point
# collections_path at .venv and .cache), the host's network (outside-in probes reach the
# lab as from the host), the podman socket for `podman --remote` (given to the connection
# plugin, not as CONTAINER_HOST: ansible-runner would hand that to the host's podman too).
navigator=(
  "$ee_venv/bin/ansible-navigator" run playbooks/audit.yml "${common[@]}"
  -e "rampart_audit_report_dir=$work/reports-ee"
  --execution-environment-image "$image" --container-engine podman --pull-policy never
  --mode stdout --playbook-artifact-enable false --log-file "$work/navigator.log"
  --set-environment-variable ANSIBLE_COLLECTIONS_PATH=/usr/share/ansible/collections
  -e "ansible_podman_extra_args='--remote --url unix:///run/rampart-podman.sock'"
  --execution-environment-volume-mounts "$sock:/run/rampart-podman.sock:z"
  --container-options=--net=host --container-options=--user=0
)
# ansible-runner starts the EE with --ipc=host, so ansible-navigator refuses to run with podman
# unless the host has /dev/mqueue (systemd hosts mount it; this sandbox has none). An empty
# directory on /dev (devtmpfs, gone at reboot) is what a host without the mount needs.
if [[ ! -d /dev/mqueue ]]; then
  log "creating /dev/mqueue (ansible-navigator needs it with podman)"
  mkdir /dev/mqueue
fi
log "ansible-navigator run in $image"
started=$SECONDS
"${navigator[@]}" >"$work/ee.log" 2>&1 || { tail -40 "$work/ee.log" >&2; die "EE run failed"; }
ee_seconds=$((SECONDS - started))

log "compare"
python - "$work/reports-plain" "$work/reports-ee" "$timestamp" "${hosts[@]}" <<'EOF'
"""Both runs: the same report files, grade, score and verdict (and message) of every check."""
import json
import sys
from pathlib import Path

plain, ee, timestamp, hosts = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def grade(report: dict) -> str:
    return f"{report['overall']['grade']} {report['overall']['score']}"


def verdicts(report: dict) -> dict[str, tuple[str, str]]:
    return {f["id"]: (f["status"], f["message"]) for f in report["findings"]}


problems = []
if files(plain) != files(ee):
    problems.append(f"report files differ: {sorted(files(plain) ^ files(ee))}")
identical = sum((plain / name).read_bytes() == (ee / name).read_bytes() for name in files(plain) & files(ee))
print(f"{'host':26} {'plain':>10} {'EE':>10}  findings")
for host in hosts:
    a = json.loads((plain / host / timestamp / "report.json").read_text())
    b = json.loads((ee / host / timestamp / "report.json").read_text())
    print(f"{host:26} {grade(a):>10} {grade(b):>10}  {len(a['findings'])}")
    if grade(a) != grade(b):
        problems.append(f"{host}: {grade(a)} (plain) vs {grade(b)} (EE)")
    va, vb = verdicts(a), verdicts(b)
    problems += [
        f"{host} {cid}: {va.get(cid)} (plain) vs {vb.get(cid)} (EE)"
        for cid in sorted(va.keys() | vb.keys())
        if va.get(cid) != vb.get(cid)
    ]
print(f"{len(files(plain))} report files in each run, {identical} byte-identical (the others carry their generation time)")
if problems:
    sys.exit("\n".join(["the EE run differs from the plain run:", *problems]))
EOF

size_mb="$(podman image inspect "$image" --format '{{.Size}}' | awk '{printf "%.0f", $1 / 1e6}')"
log "EE image $image: ${size_mb} MB; build: $build_seconds; nginx role on the edge host: $converge_seconds"
log "audit of ${#hosts[@]} hosts: plain ansible-playbook ${plain_seconds} s, ansible-navigator in the EE ${ee_seconds} s"
