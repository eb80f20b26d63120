#!/usr/bin/env bash
# Benchmark: CPU cost of one drift-agent run (audit + snapshot + compare + dpkg attribution +
# sign + append) on a converged lab host, against a reference in the same invocation: the
# plain host-side audit (cli.py) on the same host. Also the size of a day of evidence at the
# default period (one entry every 15 minutes = 96 entries) from the measured entry size.
#
#   bench/agent_run.sh [CONTAINER] [N]   (default rampart-drift-host, N=5; target: agent <= 1 s CPU)
#
# Needs a host converged with the audit_agent role (e.g. `molecule converge -s drift`). The runs
# append N entries to that host's chain; nothing else changes.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

name="${1:-rampart-drift-host}"
runs="${2:-5}"
if ! podman exec "$name" test -x /usr/local/bin/rampart-agent 2>/dev/null; then
  log "SKIPPED: $name is not a host converged with the audit_agent role (molecule converge -s drift)"
  exit 0
fi

# CPU seconds (user+sys of the process and its children, e.g. nft, ss, dpkg) of one command,
# measured inside the container.
cpu_of() {
  podman exec "$name" python3 -c "
import resource, subprocess, sys
subprocess.run(sys.argv[1], shell=True, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f'{u.ru_utime + u.ru_stime:.3f}')" "$1"
}

engine="PYTHONPATH=/usr/local/lib/rampart python3 -m ansible_collections.rampart.hardening.plugins.module_utils"
agent_cmd="$engine.agent --config /etc/rampart/agent/agent.json run"
audit_cmd="$engine.cli --format json"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

log "warm-up (not counted)"
cpu_of "$audit_cmd" >/dev/null
cpu_of "$agent_cmd" >/dev/null
agent=(); audit=()
for _ in $(seq 1 "$runs"); do
  audit+=("$(cpu_of "$audit_cmd")")
  agent+=("$(cpu_of "$agent_cmd")")
done
agent_med="$(printf '%s\n' "${agent[@]}" | median)"
audit_med="$(printf '%s\n' "${audit[@]}" | median)"
entry_bytes="$(podman exec "$name" sh -c 'tail -n 1 /var/lib/rampart/chain/evidence.intoto.jsonl | wc -c')"
report_bytes="$(podman exec "$name" sh -c 'ls -t /var/lib/rampart/reports/*.json | head -n 1 | xargs wc -c | cut -d" " -f1')"
keep="$(podman exec "$name" python3 -c 'import json; print(json.load(open("/etc/rampart/agent/agent.json"))["keep_reports"])')"

printf 'agent run CPU (median of %s):        %ss\n' "$runs" "$agent_med"
printf 'plain audit CPU (reference, median):  %ss\n' "$audit_med"
awk -v a="$agent_med" -v b="$audit_med" 'BEGIN { if (b > 0) printf "ratio agent/audit:                    %.2f\n", a / b }'
printf 'one entry:                            %s bytes\n' "$entry_bytes"
printf 'a day of evidence (96 entries):       %s KiB in the chain, plus %s kept reports of ~%s KiB\n' \
  "$(( entry_bytes * 96 / 1024 ))" "$keep" "$(( report_bytes / 1024 ))"
awk -v a="$agent_med" 'BEGIN { exit (a <= 1.0) ? 0 : 1 }' || log "agent run above the 1 s CPU target"
