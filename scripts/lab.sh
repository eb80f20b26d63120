#!/usr/bin/env bash
# Start or remove the demo lab: one systemd container per host of inventories/lab.
#   scripts/lab.sh up | down | status | fresh
# `fresh`: like `up`, but first removes the lab if any host was already converged by the roles
# (it holds /etc/rampart/intent), so `make demo` audits stock hosts before it converges them.
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

fresh() {
  local host
  for host in "${hosts[@]}"; do
    if podman container exists "$host" && podman start "$host" >/dev/null 2>&1 &&
      podman exec "$host" test -d /etc/rampart/intent; then
      log "$host was converged before: recreating the lab from stock hosts"
      down
      break
    fi
  done
  up
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  fresh) fresh ;;
  *) die "usage: scripts/lab.sh up|down|status|fresh" ;;
esac
