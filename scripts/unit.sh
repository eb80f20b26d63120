#!/usr/bin/env bash
# Unit tests of every plugin and of the policy engine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"
# Imports use the installed-collection path, exactly as Ansible loads the plugins.
export PYTHONPATH="$RAMPART_COLLECTIONS_DIR${PYTHONPATH:+:$PYTHONPATH}"
python -m pytest -q -p no:cacheprovider tests/unit "$@"
