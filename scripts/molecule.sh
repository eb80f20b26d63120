#!/usr/bin/env bash
# Run molecule scenarios: all of them (default first), or those named as arguments.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"
export NO_COLOR=1 ANSIBLE_FORCE_COLOR=0

if (($#)); then
  scenarios=("$@")
else
  scenarios=(default)
  for file in molecule/*/molecule.yml; do
    name="$(basename "$(dirname "$file")")"
    [[ "$name" == default ]] || scenarios+=("$name")
  done
fi

mkdir -p .cache/logs
failed=()
for scenario in "${scenarios[@]}"; do
  [[ -f "molecule/$scenario/molecule.yml" ]] || die "no scenario molecule/$scenario"
  logfile=".cache/logs/molecule-$scenario.log"
  start=$SECONDS
  log "molecule test -s $scenario (log: $logfile)"
  if molecule test -s "$scenario" >"$logfile" 2>&1; then
    log "scenario $scenario passed in $((SECONDS - start)) s"
  else
    printf '\n----- last 80 lines of %s -----\n' "$logfile" >&2
    tail -n 80 "$logfile" >&2
    log "scenario $scenario FAILED after $((SECONDS - start)) s"
    failed+=("$scenario")
  fi
done
((${#failed[@]} == 0)) || die "molecule scenarios failed: ${failed[*]}"
log "all ${#scenarios[@]} molecule scenarios passed"
