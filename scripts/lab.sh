#!/usr/bin/env bash
# Start or remove the demo lab: one systemd container per host of inventories/lab (edge, db,
# cache and the backup vault rampart-lab-vault), plus two lab services that are not audited
# hosts themselves:
#   rampart-lab-acme  Pebble (an RFC 8555 test CA) + pebble-challtestsrv (its DNS): the acme role
#                     gets real certificates for demo.lab.test over HTTP-01 against the edge.
#   rampart-lab-logs  systemd-journal-remote over mutual TLS: the baseline role ships every
#                     host's journal there (LOG-03).
# Controller-side material lives under .cache/lab (rampart_lab_state_dir of inventories/lab):
#   pki/      the lab CA (ca.key never leaves the controller), the collector's and the ACME
#             server's certificates, one client certificate per host for log shipping
#   acme/     Pebble's config and the root it issues from (fetched after each start)
#   backup/   the demo age identity: backups are encrypted to its public key, the private key
#             stays here (playbooks/restore.yml decrypts on the controller)
#   hostkeys/ each host's SSH Ed25519 host key, read at start: the vault pins the keys of the
#             hosts it pulls from (rampart_backup_vault_sources in inventories/lab)
# Nothing is published on a host port: the lab network is reachable from this machine only.
#   scripts/lab.sh up | down | status | fresh
# `fresh`: like `up`, but first removes the lab if any host was already converged by the roles
# (it holds /etc/rampart/intent), so `make demo` audits stock hosts before it converges them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

network=rampart-lab
hosts=(rampart-lab-edge rampart-lab-db rampart-lab-cache rampart-lab-vault)
acme=rampart-lab-acme
logs=rampart-lab-logs
state="$RAMPART_ROOT/.cache/lab"
# The edge's TLS site (inventories/lab/group_vars/edge.yml): challtestsrv resolves it to the edge.
acme_names=(demo.lab.test)

# ----- controller-side PKI (openssl, RSA: see the internal_ca README about ECC) -------------
issue() { # issue NAME SAN EKU: key + certificate signed by the lab CA, once
  local name="$1" san="$2" eku="$3" dir="$state/pki"
  [[ -s "$dir/$name.crt" ]] && return 0
  openssl req -new -newkey rsa:3072 -nodes -keyout "$dir/$name.key" -subj "/CN=${san#DNS:}" \
    -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 90 -sha256 -out "$dir/$name.crt" -extfile <(printf '%s\n' \
      "subjectAltName=$san" "extendedKeyUsage=$eku" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment") 2>/dev/null
  chmod 0600 "$dir/$name.key"
  rm -f "$dir/$name.csr"
}

pki() {
  mkdir -p "$state/pki" "$state/acme" "$state/backup"
  chmod 0700 "$state" "$state/pki" "$state/backup"
  if [[ ! -s "$state/pki/ca.crt" ]]; then
    log "creating the lab CA under $state/pki"
    openssl req -x509 -newkey rsa:3072 -nodes -keyout "$state/pki/ca.key" -days 365 -sha256 \
      -subj "/CN=Rampart lab CA" -out "$state/pki/ca.crt" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    chmod 0600 "$state/pki/ca.key"
  fi
  issue "$logs" "DNS:$logs" serverAuth
  issue "$acme" "DNS:$acme,DNS:localhost,IP:127.0.0.1" serverAuth
  local host
  for host in "${hosts[@]}"; do issue "$host" "DNS:$host" clientAuth; done
  if [[ ! -s "$state/backup/age.key" ]]; then
    log "creating the demo backup identity $state/backup/age.key (private key stays here)"
    age-keygen -o "$state/backup/age.key" 2>/dev/null
  fi
  age-keygen -y "$state/backup/age.key" >"$state/backup/age.pub"
}

# ----- rampart-lab-acme: Pebble + challtestsrv (static binaries of this host, read-only) ----
acme_up() {
  cat >"$state/acme/pebble-config.json" <<JSON
{"pebble": {"listenAddress": "0.0.0.0:14000", "managementListenAddress": "0.0.0.0:15000",
  "certificate": "/etc/pebble/tls.crt", "privateKey": "/etc/pebble/tls.key",
  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "",
  "externalAccountBindingRequired": false, "certificateValidityPeriod": 7776000}}
JSON
  install -m 0644 "$state/pki/$acme.crt" "$state/acme/tls.crt"
  install -m 0644 "$state/pki/$acme.key" "$state/acme/tls.key" # a lab-only key, readable in the CA container
  if ! podman container exists "$acme"; then
    log "starting $acme (Pebble ACME CA)"
    podman run -d --name "$acme" --hostname "$acme" --network "$network" \
      -v /usr/bin/pebble:/usr/local/bin/pebble:ro \
      -v /usr/bin/pebble-challtestsrv:/usr/local/bin/pebble-challtestsrv:ro \
      -v "$state/acme:/etc/pebble:ro" \
      -e PEBBLE_VA_NOSLEEP=1 -e PEBBLE_WFE_NONCEREJECT=0 -e PEBBLE_AUTHZREUSE=0 \
      "$RAMPART_LAB_IMAGE" /bin/sh -c 'pebble-challtestsrv -dns01 :8053 -management :8055 \
        -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv6 "" & sleep 1;
        exec pebble -config /etc/pebble/pebble-config.json -dnsserver 127.0.0.1:8053' >/dev/null
  else
    podman start "$acme" >/dev/null
  fi
  local i edge_ip name
  edge_ip="$(podman exec rampart-lab-edge hostname -I | awk '{print $1}')"
  for name in "${acme_names[@]}"; do
    for i in $(seq 60); do
      podman exec "$acme" curl -sf -o /dev/null -X POST \
        -d "{\"host\": \"$name\", \"addresses\": [\"$edge_ip\"]}" http://127.0.0.1:8055/add-a && break
      [[ "$i" -lt 60 ]] || die "challtestsrv did not take $name -> $edge_ip"
      sleep 1
    done
  done
  for i in $(seq 60); do
    podman exec "$acme" curl -sfk -o /dev/null https://127.0.0.1:14000/dir && break
    [[ "$i" -lt 60 ]] || die "Pebble does not answer on $acme:14000"
    sleep 1
  done
  # Pebble makes a new root at every start: the audit verifies the served chain against it.
  podman exec "$acme" curl -sfk https://127.0.0.1:15000/roots/0 >"$state/acme/pebble-root.pem" ||
    die "could not read Pebble's root certificate"
  # The lab hosts trust the lab's ACME CA as hosts trust a private ACME CA (step-ca, ...).
  local host
  for host in "${hosts[@]}"; do
    podman cp "$state/acme/pebble-root.pem" "$host:/usr/local/share/ca-certificates/rampart-lab-acme.crt"
    podman exec "$host" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed on $host"
  done
}

# ----- rampart-lab-logs: systemd-journal-remote, clients with a lab-CA certificate only -----
logs_up() {
  if ! podman container exists "$logs"; then
    log "starting $logs (systemd-journal-remote collector)"
    podman run -d --name "$logs" --hostname "$logs" --network "$network" \
      --systemd=always --cap-add SYS_ADMIN "$RAMPART_LAB_IMAGE" /sbin/init >/dev/null
  else
    podman start "$logs" >/dev/null
  fi
  podman exec "$logs" systemctl is-system-running --wait >/dev/null 2>&1 || true
  podman exec "$logs" test -x /lib/systemd/systemd-journal-remote ||
    podman exec -e DEBIAN_FRONTEND=noninteractive "$logs" apt-get install -y -q systemd-journal-remote >/dev/null
  podman exec "$logs" install -d -m 0750 -g systemd-journal-remote /etc/rampart-lab
  podman cp "$state/pki/ca.crt" "$logs:/etc/rampart-lab/ca.pem"
  podman cp "$state/pki/$logs.crt" "$logs:/etc/rampart-lab/server.pem"
  podman cp "$state/pki/$logs.key" "$logs:/etc/rampart-lab/server.key"
  podman exec "$logs" sh -c 'chown root:systemd-journal-remote /etc/rampart-lab/* &&
    chmod 0644 /etc/rampart-lab/*.pem && chmod 0640 /etc/rampart-lab/server.key &&
    printf "[Remote]\nSplitMode=host\nServerKeyFile=/etc/rampart-lab/server.key\nServerCertificateFile=/etc/rampart-lab/server.pem\nTrustedCertificateFile=/etc/rampart-lab/ca.pem\n" \
      >/etc/systemd/journal-remote.conf &&
    systemctl enable --now systemd-journal-remote.socket >/dev/null 2>&1 &&
    systemctl try-restart systemd-journal-remote.service'
}

# The SSH host keys the vault pins (a fresh container, a fresh key).
hostkeys() {
  local host
  mkdir -p "$state/hostkeys"
  for host in "${hosts[@]}"; do
    podman exec "$host" cat /etc/ssh/ssh_host_ed25519_key.pub >"$state/hostkeys/$host.pub" ||
      die "could not read the SSH host key of $host"
  done
}

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
  pki
  hostkeys
  acme_up
  logs_up
  status
}

down() {
  for host in "${hosts[@]}" "$acme" "$logs"; do
    podman rm -f "$host" >/dev/null 2>&1 && log "removed $host" || true
  done
  podman network rm "$network" >/dev/null 2>&1 || true
  # The drift evidence pins each host's signing key: new hosts get new keys.
  rm -rf "$state/evidence"
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
