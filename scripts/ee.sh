#!/usr/bin/env bash
# Build the execution environment of execution-environment.yml (ansible-builder v3, podman).
#   scripts/ee.sh build   # tools venv, collection tarballs, image (localhost/rampart-ee:latest)
#   scripts/ee.sh         # build, then bench/ee_audit.sh: the audit through ansible-navigator
#                         # against a lab, compared with a plain ansible-playbook run
# ansible-builder and ansible-navigator live in their own venv (.cache/ee-venv, from
# requirements-ee.txt) so the CI venv stays lean.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"

ee_dir="$RAMPART_ROOT/.cache/ee"
ee_venv="${RAMPART_EE_VENV:-$RAMPART_ROOT/.cache/ee-venv}"
image="${RAMPART_EE_IMAGE:-localhost/rampart-ee:latest}"
site_packages="$RAMPART_VENV/lib/python3.11/site-packages"
# The collections the EE installs besides this one: galaxy.yml's dependencies, plus
# containers.podman for the lab's connection. Packed from the venv's installed copies.
deps=(community.crypto community.general community.postgresql community.rabbitmq ansible.posix containers.podman)

tools_venv() {
  local stamp="$ee_venv/.requirements-ee.txt"
  if [[ -x "$ee_venv/bin/ansible-builder" ]] && cmp -s requirements-ee.txt "$stamp"; then
    return
  fi
  log "tools venv ${ee_venv#"$RAMPART_ROOT"/} (requirements-ee.txt)"
  python -m venv --clear "$ee_venv"
  "$ee_venv/bin/pip" install -q -r requirements-ee.txt
  cp requirements-ee.txt "$stamp"
}

repack() {
  python - "$1" "$2" <<'EOF'
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

src, dest = Path(sys.argv[1]), sys.argv[2]
files = json.loads((src / "FILES.json").read_text())
files["files"] = [f for f in files["files"] if f["name"] == "." or (src / f["name"]).exists()]
files_json = json.dumps(files, indent=4).encode()
manifest = json.loads((src / "MANIFEST.json").read_text())
manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
manifest_json = json.dumps(manifest, indent=4).encode()
with tarfile.open(dest, "w:gz") as tar:
    for name, data in (("MANIFEST.json", manifest_json), ("FILES.json", files_json)):
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    for entry in files["files"]:
        if entry["name"] != ".":
            tar.add(src / entry["name"], arcname=entry["name"], recursive=False)
EOF
}

tarballs() {
  local out="$ee_dir/collections" fqcn src
  rm -rf "$out" && mkdir -p "$out"
  log "collection tarballs in ${out#"$RAMPART_ROOT"/}"
  ansible-galaxy collection build --force --output-path "$out" . >/dev/null
  mv "$out"/rampart-hardening-*.tar.gz "$out/rampart-hardening.tar.gz"
  for fqcn in "${deps[@]}"; do
    src="$site_packages/ansible_collections/${fqcn/./\/}"
    [[ -f "$src/MANIFEST.json" ]] || die "$fqcn is not installed in $site_packages"
    # An installed collection holds MANIFEST.json, FILES.json and the files: what a Galaxy
    # artefact holds, so its tarball installs like one once FILES.json lists only files that
    # are there (the `ansible` package leaves out some, e.g. CI configuration).
    repack "$src" "$out/${fqcn/./-}.tar.gz"
  done
}

certs() {
  local out="$ee_dir/certs"
  rm -rf "$out" && mkdir -p "$out"
  echo "CA certificates the build host added locally, trusted during and after the build." >"$out/README.txt"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$out/"
  fi
}

build() {
  tools_venv
  tarballs
  certs
  log "ansible-builder build -> $image"
  local started=$SECONDS
  "$ee_venv/bin/ansible-builder" build --container-runtime podman \
    --file execution-environment.yml --context "$ee_dir/context" --tag "$image" --verbosity 2
  log "built $image in $((SECONDS - started)) s, $(podman image inspect "$image" --format '{{.Size}}' |
    awk '{printf "%.0f MB", $1 / 1e6}')"
}

case "${1:-all}" in
  build) build ;;
  all) build && RAMPART_EE_BENCH_BUILT=1 bash bench/ee_audit.sh ;;
  *) die "usage: scripts/ee.sh [build|all]" ;;
esac
