#!/usr/bin/env bash
# `ansible-test sanity` as Galaxy / Automation Hub run it: on what the collection ships.
# The tarball `ansible-galaxy collection build` makes of the work tree (galaxy.yml
# build_ignore: no venv, caches, reports, lab, molecule, scripts) is unpacked at
# .cache/sanity/ansible_collections/rampart/hardening (ansible-test needs that layout).
# The development-only files (scripts/, molecule/, bench/) are linted by ruff in lint.sh.
#
# Each sanity test runs in its own virtualenv (--venv, under ~/.ansible/test/venv, reused
# by later runs) with the versions ansible-test pins, so the project's .venv stays as it is.
# The only file ansible-test downloads itself is a get-pip bootstrap script from
# ci-files.testing.ansible.com; a stand-in that bootstraps pip from the interpreter's own
# ensurepip is put where ansible-test looks for its cached copy. The pinned tools are then
# installed by pip from the configured package index.
#
# Usage: scripts/sanity.sh [ansible-test sanity options, e.g. --test pylint]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"

python_version="${RAMPART_SANITY_PYTHON:-3.11}"
copy_root="$RAMPART_ROOT/.cache/sanity"
collection="$copy_root/ansible_collections/rampart/hardening"

# ansible_test/_util/target/setup/requirements.py: bootstrap() runs
# ~/.ansible/test/cache/get_pip_<version with _>.py when it exists, else downloads it.
pip_version="$(python - "$python_version" <<'EOF'
import sys
from ansible_test._internal.host_configs import NativePythonConfig
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(NativePythonConfig(version=sys.argv[1]))["pip"])
EOF
)"
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [[ ! -s "$get_pip" ]] || ! grep -q 'rampart: ensurepip stand-in' "$get_pip"; then
  mkdir -p "$(dirname "$get_pip")"
  cat >"$get_pip" <<'EOF'
"""rampart: ensurepip stand-in for get-pip.py (ansible-test's pip bootstrap script).

get-pip.py installs pip into an interpreter that has none, then runs
`pip install --upgrade --force-reinstall <args>`. Here pip comes from the wheel the
interpreter bundles (ensurepip), then upgrades itself to the version ansible-test asks for.
"""

import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", "--force-reinstall", *args]))
EOF
fi

log "build the collection and unpack it at ${collection#"$RAMPART_ROOT"/}"
rm -rf "$copy_root"
mkdir -p "$collection" "$copy_root/build"
ansible-galaxy collection build --force --output-path "$copy_root/build" . >/dev/null
tar -xzf "$copy_root"/build/rampart-hardening-*.tar.gz -C "$collection"
# Inside this (git) work tree, .cache/ is ignored and ansible-test would skip every file:
# a repository of its own makes the copy's files its targets (untracked, not ignored).
git init -q "$collection"
printf '%s\n' /tests/output/ >"$collection/.git/info/exclude"

log "ansible-test sanity --python $python_version"
cd "$collection"
started=$SECONDS
ansible-test sanity --venv --python "$python_version" --color no "$@"
log "ansible-test sanity passed in $((SECONDS - started)) s"
