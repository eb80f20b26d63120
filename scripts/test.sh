#!/usr/bin/env bash
# `make test`: everything, in the order that fails fastest. Non-zero on any failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"

started=$SECONDS
step() { log "$1 ($((SECONDS - started)) s elapsed)"; }

step "lint";            scripts/lint.sh
step "unit tests";      scripts/unit.sh
step "collection test"; scripts/collection-test.sh
step "lab image";       scripts/lab-image.sh
step "molecule";        scripts/molecule.sh
log "make test passed in $((SECONDS - started)) s"
