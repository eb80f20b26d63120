#!/usr/bin/env bash
# Run molecule scenarios: all of them (default first, alone, as the lab smoke test; then the
# rest side by side), or those named as arguments.
#
# RAMPART_MOLECULE_JOBS=N   scenarios run at once (default 3). Scenarios never share container
#                           or network names (rampart-<scenario>-*), so they can run together;
#                           on this 2-core machine several at a time finish sooner than one by one
#                           because much of a scenario is waiting (systemd, apt, services).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"
export NO_COLOR=1 ANSIBLE_FORCE_COLOR=0
jobs="${RAMPART_MOLECULE_JOBS:-3}"

# Longest first, so the last ones to start are short ones (measured: scenario wall times).
slow_first=(stack-ops-dashboard backup stack-storefront stack-agent-platform remediate stack-message-platform drift audit acme ssh nginx baseline rabbitmq firewall postgresql redis clickhouse)

# Scenarios left out of the full run, with the reason (run them with `make scenario S=<name>`).
# An entry looks like: [name]="issue N: why it cannot pass yet".
declare -A not_in_full_run=(
  [stack-storefront]="CI budget (issue 17): about 17 min; its roles, backups and restore are proven by their own scenarios and by the other stacks"
  [stack-message-platform]="CI budget (issue 17): about 16 min; RabbitMQ over TLS is proven by molecule/rabbitmq, the rest by the other stacks"
)

if (($#)); then
  scenarios=("$@")
else
  scenarios=()
  for name in "${slow_first[@]}"; do
    [[ -f "molecule/$name/molecule.yml" ]] && scenarios+=("$name")
  done
  for file in molecule/*/molecule.yml; do
    name="$(basename "$(dirname "$file")")"
    [[ "$name" == default || " ${scenarios[*]} " == *" $name "* ]] || scenarios+=("$name")
  done
  for name in "${!not_in_full_run[@]}"; do
    if [[ " ${scenarios[*]} " == *" $name "* ]]; then
      log "NOT RUN: scenario $name (${not_in_full_run[$name]})"
      scenarios=("${scenarios[@]/$name/}")
    fi
  done
  read -r -a scenarios <<<"${scenarios[*]}"
  [[ -f molecule/default/molecule.yml ]] && scenarios=(default "${scenarios[@]}")
fi

mkdir -p .cache/logs
results=.cache/logs/molecule-results.txt
: > "$results"

# Each log line starts with the seconds since its scenario started, so the phase times can be read.
stamp() {
  local start=$EPOCHSECONDS line
  while IFS= read -r line || [[ -n "$line" ]]; do printf '%5d %s\n' $((EPOCHSECONDS - start)) "$line"; done
}

# "check 58 s, converge 120 s, ...": molecule's phases of a stamped log (those of 5 s or more).
phase_times() {
  awk '$2 == "INFO" && NF == 6 && $6 == "Executing" {
         if (name != "" && $1 - t >= 5) out = out sprintf("%s %d s, ", name, $1 - t)
         name = $5; sub(/\]$/, "", name); t = $1
       }
       { last = $1 }
       END { if (name != "" && last - t >= 5) out = out sprintf("%s %d s", name, last - t); sub(/, $/, "", out); print out }' "$1"
}

run_scenario() {
  local scenario="$1" logfile=".cache/logs/molecule-$1.log" start=$SECONDS
  [[ -f "molecule/$scenario/molecule.yml" ]] || { echo "FAIL $scenario 0 (no such scenario)" >> "$results"; return 1; }
  log "molecule test -s $scenario (log: $logfile)"
  if molecule test -s "$scenario" 2>&1 | stamp >"$logfile"; then
    log "scenario $scenario passed in $((SECONDS - start)) s ($(phase_times "$logfile"))"
    echo "PASS $scenario $((SECONDS - start)) ($(phase_times "$logfile"))" >> "$results"
  else
    {
      printf '\n----- last 80 lines of %s -----\n' "$logfile"
      tail -n 80 "$logfile"
    } >&2
    log "scenario $scenario FAILED after $((SECONDS - start)) s"
    echo "FAIL $scenario $((SECONDS - start))" >> "$results"
  fi
}

started=$SECONDS
# The smoke test alone first: when the lab itself is broken, say so before the long ones.
if [[ "${scenarios[0]:-}" == default && ${#scenarios[@]} -gt 1 ]]; then
  run_scenario default
  scenarios=("${scenarios[@]:1}")
fi
for scenario in "${scenarios[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  run_scenario "$scenario" &
done
wait || true

passed=$(grep -c '^PASS' "$results" || true)
failed=$(grep -c '^FAIL' "$results" || true)
log "molecule wall time $((SECONDS - started)) s; per scenario: $(sort -k3 -n -r "$results" | awk '{printf "%s %s s, ", $2, $3}')"
echo "molecule: $passed passed, $failed failed"
((failed == 0)) || die "molecule scenarios failed: $(awk '/^FAIL/ {printf "%s ", $2}' "$results")"
