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
slow_first=(stack-ops-dashboard backup stack-storefront stack-agent-platform stack-message-platform drift audit remediate acme ssh nginx baseline rabbitmq firewall postgresql redis clickhouse)

# Scenarios left out of the full run, with the reason (run them with `make scenario S=<name>`).
# An entry looks like: [name]="issue N: why it cannot pass yet".
declare -A not_in_full_run=(
  [remediate]="issue 17: passes in full (28 min at load 10-15: six real remediate.yml runs); over the CI budget"
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

run_scenario() {
  local scenario="$1" logfile=".cache/logs/molecule-$1.log" start=$SECONDS
  [[ -f "molecule/$scenario/molecule.yml" ]] || { echo "FAIL $scenario 0 (no such scenario)" >> "$results"; return 1; }
  log "molecule test -s $scenario (log: $logfile)"
  if molecule test -s "$scenario" >"$logfile" 2>&1; then
    log "scenario $scenario passed in $((SECONDS - start)) s"
    echo "PASS $scenario $((SECONDS - start))" >> "$results"
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
