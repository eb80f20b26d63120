#!/usr/bin/env bash
# Install everything the tests and the demo need on a Debian 12 machine, idempotently:
# apt packages (podman and its network stack, debootstrap, test peers) and a .venv
# from requirements.txt. Needs root for apt; a second run changes nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

apt_packages=(
  podman runc netavark aardvark-dns iptables uidmap slirp4netns fuse-overlayfs
  debootstrap nftables curl ca-certificates git make
  python3-venv python3-pip
  pebble wrk lynis testssl.sh openssl
  gnupg age shellcheck
)

missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  [[ $EUID -eq 0 ]] || die "need root to install: ${missing[*]}"
  log "apt: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "apt: all ${#apt_packages[@]} packages present"
fi

stamp="$RAMPART_VENV/.requirements.sha256"
wanted="$(sha256sum "$RAMPART_ROOT/requirements.txt" | cut -d' ' -f1)"
if [[ -x "$RAMPART_VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  log "venv: $RAMPART_VENV matches requirements.txt"
else
  log "venv: installing requirements.txt into $RAMPART_VENV"
  python_bin="${RAMPART_PYTHON:-python3}"
  "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python >= 3.11 is required ($python_bin is $($python_bin -V 2>&1))"
  "$python_bin" -m venv "$RAMPART_VENV"
  "$RAMPART_VENV/bin/pip" install -q --upgrade pip
  "$RAMPART_VENV/bin/pip" install -q -r "$RAMPART_ROOT/requirements.txt"
  echo "$wanted" > "$stamp"
fi

"$RAMPART_ROOT/scripts/link-collection.sh"
