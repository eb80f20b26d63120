#!/usr/bin/env bash
# Start or remove the demo lab: one systemd container per host of inventories/lab.
#   scripts/lab.sh up | down | status
set -euo pipefail
source "$(dirname "$0")/lib.sh"

network=rampart-lab
hosts=(rampart-lab-edge rampart-lab-db rampart-lab-cache)

up() {
  podman network exists "$network" || podman network create "$network" >/dev/null
  for host in "${hosts[@]}"; do
    if podman container exists "$host"; then
      podman start "$host" >/dev/null
      continue
    fi
    log "starting $host"
    # SYS_ADMIN lets systemd sandbox the distro's units as on a real host; NET_ADMIN: nftables.
    podman run -d --name "$host" --hostname "$host" --network "$network" \
      --systemd=always --cap-add SYS_ADMIN --cap-add NET_ADMIN \
      "$RAMPART_LAB_IMAGE" /sbin/init >/dev/null
  done
  for host in "${hosts[@]}"; do
    podman exec "$host" systemctl is-system-running --wait >/dev/null 2>&1 || true
  done
  status
}

down() {
  for host in "${hosts[@]}"; do
    podman rm -f "$host" >/dev/null 2>&1 && log "removed $host" || true
  done
  podman network rm "$network" >/dev/null 2>&1 || true
}

status() {
  podman ps -a --filter "name=rampart-lab-" --format '{{.Names}}\t{{.Status}}'
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: scripts/lab.sh up|down|status" ;;
esac
