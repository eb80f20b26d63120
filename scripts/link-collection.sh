#!/usr/bin/env bash
# Make the working tree importable as the collection rampart.hardening, so molecule
# scenarios and the demo call roles and modules by FQCN exactly as users do.
# (`scripts/collection-install-test.sh` separately proves the built tarball installs.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
target="$RAMPART_COLLECTIONS_DIR/ansible_collections/rampart"
mkdir -p "$target"
# A temporary name of our own: scenarios run side by side and all link at their start.
tmp_link="$target/.hardening.$$"
ln -sfn "$RAMPART_ROOT" "$tmp_link"
mv -Tf "$tmp_link" "$target/hardening"
