# Shared settings for the Rampart scripts. Source it; do not run it.
# shellcheck shell=bash

RAMPART_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RAMPART_ROOT
export CONTAINERS_CONF="${CONTAINERS_CONF:-$RAMPART_ROOT/lab/containers.conf}"
export RAMPART_LAB_IMAGE="${RAMPART_LAB_IMAGE:-localhost/rampart-lab:bookworm}"
export RAMPART_VENV="${RAMPART_VENV:-$RAMPART_ROOT/.venv}"
export PATH="$RAMPART_VENV/bin:$PATH"
# Roles are called by FQCN from an installed copy of the collection, exactly as users do.
export RAMPART_COLLECTIONS_DIR="${RAMPART_COLLECTIONS_DIR:-$RAMPART_ROOT/.cache/collections}"
export ANSIBLE_COLLECTIONS_PATH="$RAMPART_COLLECTIONS_DIR:$RAMPART_VENV/lib/python3.11/site-packages"
# Lab-only: the `podman` connection with pipelining (lab/connection_plugins/podman.py).
export ANSIBLE_CONNECTION_PLUGINS="$RAMPART_ROOT/lab/connection_plugins"

log() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }
