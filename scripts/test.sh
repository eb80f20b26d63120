#!/usr/bin/env bash
# `make test`: everything, in the order that fails fastest. Non-zero on any failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"

started=$SECONDS
step() { log "$1 ($((SECONDS - started)) s elapsed)"; }

# Lint and the unit tests each keep about one core busy, so on two cores they run side by side
# (about two minutes sooner than one after the other). Unit output goes to its log; its summary,
# or on failure its tail, is printed once both are done.
mkdir -p .cache/logs
unit_log=.cache/logs/unit.log
step "lint, and unit tests beside it (log: $unit_log)"
scripts/unit.sh >"$unit_log" 2>&1 &
unit_pid=$!
lint_rc=0
scripts/lint.sh || lint_rc=$?
unit_rc=0
wait "$unit_pid" || unit_rc=$?
if ((unit_rc != 0)); then
  tail -n 150 "$unit_log" >&2
  die "unit tests failed (rc $unit_rc, log: $unit_log)"
fi
log "unit tests: $(grep -E '^[0-9]+ passed' "$unit_log" | tail -n 1)"
((lint_rc == 0)) || die "lint failed (rc $lint_rc)"

step "collection test"; scripts/collection-test.sh
step "lab image";       scripts/lab-image.sh
step "molecule";        scripts/molecule.sh
log "make test passed in $((SECONDS - started)) s"
