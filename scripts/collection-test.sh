#!/usr/bin/env bash
# Prove the collection ships: build the tarball, install it with ansible-galaxy into a
# clean path, and run a playbook that uses its plugins by FQCN from that installed copy.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"

build_dir="$RAMPART_ROOT/.cache/build"
install_dir="$(mktemp -d)"
trap 'rm -rf "$install_dir"' EXIT
rm -rf "$build_dir" && mkdir -p "$build_dir"

log "ansible-galaxy collection build"
ansible-galaxy collection build --force --output-path "$build_dir" . >/dev/null
tarball="$(ls "$build_dir"/rampart-hardening-*.tar.gz)"
size_kb=$(( $(stat -c %s "$tarball") / 1024 ))
log "built $(basename "$tarball") (${size_kb} KiB)"
# The tarball must not carry the developer's environment.
if tar -tzf "$tarball" | grep -qE '^(\.venv|\.cache|\.git|reports|credentials)/'; then
  die "the tarball contains build-only folders: fix build_ignore in galaxy.yml"
fi

log "ansible-galaxy collection install into a clean path"
# --no-deps: the dependencies come bundled with the pinned `ansible` package.
ANSIBLE_COLLECTIONS_PATH="$install_dir" \
  ansible-galaxy collection install --force --no-deps -p "$install_dir" "$tarball" >/dev/null
installed="$install_dir/ansible_collections/rampart/hardening"
[[ -f "$installed/MANIFEST.json" ]] || die "no MANIFEST.json in the installed collection"

log "FQCN playbook from the installed copy"
ANSIBLE_COLLECTIONS_PATH="$install_dir:$RAMPART_VENV/lib/python3.11/site-packages" \
  ansible-playbook -i localhost, -c local tests/collection/fqcn.yml \
  -e "rampart_expected_path=$installed" \
  -e "ansible_python_interpreter=$RAMPART_VENV/bin/python"
