#!/usr/bin/env bash
# Regenerate what is generated: role READMEs (from argument_specs) and the checks reference.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"
python scripts/role-readme.py roles/*
if [[ -f scripts/checks-doc.py ]]; then
  PYTHONPATH="$RAMPART_COLLECTIONS_DIR" python scripts/checks-doc.py
fi
