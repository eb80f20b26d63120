#!/usr/bin/env bash
# Benchmark: playbooks/audit.yml against a fleet of N stock lab hosts.
#
#   bench/fleet_audit.sh [N]        (default N=5; issue 14 target: 20 hosts <= 30 s wall,
#                                    marginal cost <= 1 s per host; all report formats written)
#
# RAMPART_BENCH_TRANSPORT=podman|ssh (default podman). `ssh` reaches the hosts the way a real
#   fleet is reached: OpenSSH with a throwaway key and pipelining (one ssh exec per module),
#   where `podman` pays podman's mount + exec + cp per module call (no pipelining).
#
# Every host shares this machine's cores with the controller, so the wall time includes the
# hosts' own audit work; the ratios to the one-host reference are the comparable numbers.
# Many systemd containers need fs.inotify.max_user_instances above the default 128 (about 5
# per host): `sysctl -w fs.inotify.max_user_instances=1024` (runtime only) before 50 hosts.
#
# Starts N lab containers (rampart-fleet-1..N on the network rampart-fleet), then in the same
# invocation runs the audit twice: against ONE host (the reference) and against all N with
# -f N. Prints wall time, controller CPU (ansible-playbook and every podman/python process it
# started), seconds per host, the marginal cost per added host and the ratio to the reference.
# The hosts, the network and the reports are removed at the end (also on failure or Ctrl-C).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$RAMPART_ROOT"

count="${1:-5}"
[[ "$count" =~ ^[0-9]+$ && "$count" -ge 1 && "$count" -le 100 ]] || die "usage: bench/fleet_audit.sh [N] (1..100)"
network=rampart-fleet
transport="${RAMPART_BENCH_TRANSPORT:-podman}"
[[ "$transport" == podman || "$transport" == ssh ]] || die "RAMPART_BENCH_TRANSPORT must be podman or ssh, not '$transport'"
work="$(mktemp -d /tmp/rampart-fleet-bench.XXXXXX)"
hosts=()
for i in $(seq 1 "$count"); do hosts+=("rampart-fleet-$i"); done

cleanup() {
  podman rm -f -t 0 "${hosts[@]}" >/dev/null 2>&1 || true
  podman network rm "$network" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

log "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; transport $transport"
log "starting $count lab hosts from $RAMPART_LAB_IMAGE"
podman rm -f -t 0 "${hosts[@]}" >/dev/null 2>&1 || true
podman network exists "$network" || podman network create "$network" >/dev/null
for host in "${hosts[@]}"; do
  podman run -d --name "$host" --hostname "$host" --network "$network" \
    --systemd=always --cap-add SYS_ADMIN --cap-add NET_ADMIN \
    "$RAMPART_LAB_IMAGE" /sbin/init >/dev/null
done
for host in "${hosts[@]}"; do
  state=""
  for _ in $(seq 1 90); do
    state="$(podman exec "$host" systemctl is-system-running 2>/dev/null || true)"
    [[ "$state" == running || "$state" == degraded ]] && break
    sleep 1
  done
  if [[ "$state" != running && "$state" != degraded ]]; then
    # Every systemd container holds a few inotify instances; the kernel's per-user limit
    # (fs.inotify.max_user_instances, 128 by default) caps how many can boot on one machine.
    die "$host did not boot (state '${state:-none}', container $(podman inspect -f '{{.State.Status}}' "$host" 2>/dev/null)):" \
      "$(podman ps -q | wc -l) containers run here; fs.inotify.max_user_instances is" \
      "$(cat /proc/sys/fs/inotify/max_user_instances) (each systemd container needs ~5)"
  fi
done

# Booting N systemd containers keeps both cores busy for a while after they report "running";
# measuring then would charge the boot to the audit. Wait (at most 180 s) until the machine has
# been at least 80 % idle over two seconds.
settle() {
  local idle total idle2 total2 busy
  for _ in $(seq 1 90); do
    read -r idle total < <(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
    sleep 2
    read -r idle2 total2 < <(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
    busy=$(( 100 - 100 * (idle2 - idle) / (total2 - total) ))
    [[ "$busy" -le 20 ]] && { log "machine settled: ${busy}% busy"; return 0; }
  done
  log "machine still ${busy}% busy after 180 s; measuring anyway (the numbers include that load)"
}
settle

if [[ "$transport" == ssh ]]; then
  ssh-keygen -q -t ed25519 -N '' -C rampart-fleet-bench -f "$work/id_ed25519"
  for host in "${hosts[@]}"; do
    podman exec -i "$host" sh -c 'install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys' <"$work/id_ed25519.pub"
  done
fi
{
  echo "all:"
  echo "  vars:"
  if [[ "$transport" == ssh ]]; then
    echo "    ansible_user: root"
    echo "    ansible_ssh_private_key_file: $work/id_ed25519"
    echo "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    echo "    ansible_ssh_pipelining: true"
  else
    echo "    ansible_connection: podman"
  fi
  echo "    ansible_python_interpreter: /usr/bin/python3"
  echo "  hosts:"
  for host in "${hosts[@]}"; do
    if [[ "$transport" == ssh ]]; then
      echo "    $host: {ansible_host: $(podman inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$host")}"
    else
      echo "    $host:"
    fi
  done
} >"$work/hosts.yml"

# One audit run; prints "wall user sys" (seconds; user/sys include every child process).
run_audit() {
  local label="$1" limit="$2" forks="$3"
  /usr/bin/time -f '%e %U %S' -o "$work/$label.time" \
    ansible-playbook -i "$work/hosts.yml" playbooks/audit.yml --limit "$limit" -f "$forks" \
    -e "rampart_audit_report_dir=$work/reports-$label" -e rampart_audit_min_grade=F \
    >"$work/$label.log" 2>&1 || {
    cp "$work/$label.log" "/tmp/rampart-fleet-bench-$label.log"
    grep -E -A12 'fatal:|UNREACHABLE|ERROR' "$work/$label.log" | head -60 >&2
    grep -A$(( $4 + 2 )) 'PLAY RECAP' "$work/$label.log" >&2
    die "the $label audit run failed (full log: /tmp/rampart-fleet-bench-$label.log)"
  }
  local written
  written="$(find "$work/reports-$label" -type f -name 'report.*' | wc -l)"
  [[ "$written" -eq $(( $4 * 5 )) ]] || die "$label: expected $(( $4 * 5 )) report files, found $written"
  [[ -f "$(ls -d "$work/reports-$label"/fleet/*/fleet.html)" ]] || die "$label: no fleet page"
  cat "$work/$label.time"
}

log "reference: audit.yml against 1 host"
reference="$(run_audit single "${hosts[0]}" 1 1)"
log "audit.yml against $count hosts (-f $count)"
fleet="$(run_audit fleet all "$count" "$count")"
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$count" "$reference" "$fleet" <<'PY'
import sys

count = int(sys.argv[1])
ref_wall, ref_user, ref_sys = map(float, sys.argv[2].split())
wall, user, system = map(float, sys.argv[3].split())
cpu, ref_cpu = user + system, ref_user + ref_sys
print(f"  1 host (reference):  wall {ref_wall:6.1f} s   controller CPU {ref_cpu:6.1f} s")
print(f"  {count:3d} hosts:           wall {wall:6.1f} s   controller CPU {cpu:6.1f} s")
print(f"  per host:            wall {wall / count:6.2f} s   controller CPU {cpu / count:6.2f} s")
if count > 1:
    print(f"  marginal per added host: wall {(wall - ref_wall) / (count - 1):.2f} s, "
          f"CPU {(cpu - ref_cpu) / (count - 1):.2f} s (target <= 1 s)")
print(f"  ratio {count} hosts / 1 host: wall x{wall / ref_wall:.2f}, CPU x{cpu / ref_cpu:.2f}")
if count >= 20:
    verdict = "meets" if wall <= 30 * count / 20 else "misses"
    print(f"  {verdict} the issue-14 target (20 hosts <= 30 s wall, scaled: {30 * count / 20:.0f} s)")
PY
