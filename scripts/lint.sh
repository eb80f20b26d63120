#!/usr/bin/env bash
# Static checks: ruff (lint + format), yamllint, ansible-lint production profile,
# and generated docs that must not be stale.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"

log "ruff"
ruff check .
ruff format --check .
log "yamllint"
yamllint -s .
log "ansible-lint (production profile)"
ansible-lint --profile production --offline
log "role READMEs match their argument_specs"
python scripts/role-readme.py --check roles/*
log "changelog: fragments, CHANGELOG.md, a fragment for every plugins/roles change"
scripts/changelog-lint.sh
log "ansible-test sanity (the built collection)"
scripts/sanity.sh
