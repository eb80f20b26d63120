#!/usr/bin/env bash
# Build the lab image (default localhost/rampart-lab:bookworm) that every molecule scenario
# and the demo lab run: Debian 12 with systemd as PID 1, python3 for Ansible, and the
# service packages pre-downloaded so roles install them quickly and without a registry.
#
#   scripts/lab-image.sh            build when missing (cached: does nothing if present)
#   scripts/lab-image.sh --force    rebuild
#
# RAMPART_LAB_BASE=<image>  build FROM an upstream Debian/Ubuntu image instead of
#                           debootstrap (for users who can pull from a registry).
# RAMPART_LAB_MIRROR=<url>  Debian mirror for debootstrap (default deb.debian.org).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

force=0
[[ "${1:-}" == "--force" ]] && force=1

suite="${RAMPART_LAB_SUITE:-bookworm}"
mirror="${RAMPART_LAB_MIRROR:-http://deb.debian.org/debian}"
# Installed: what every lab host has, like a stock server (sshd included, so the audit and
# the ssh role meet a real OpenSSH on every host).
base_packages="systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,ca-certificates,curl,procps,gnupg,netbase,less,openssh-server"
# Downloaded into the image's apt cache (not installed), so that the roles' own
# apt tasks really install them but need no network and little time.
cached_packages="nginx openssl ssl-cert postgresql postgresql-contrib python3-psycopg2 redis-server redis-tools certbot nftables python3-cryptography acl"
cached_packages+=" unattended-upgrades apt-listchanges systemd-timesyncd systemd-journal-remote rsyslog rsyslog-gnutls auditd libpam-pwquality age"
cached_packages+=" rabbitmq-server clickhouse-server clickhouse-client python3-pika rsync"
# Alternatives that conflict with something above (apt resolves each on its own).
cached_alternatives="chrony"

# The image is rebuilt when its recipe (this script) changes, not only when it is missing:
# a cached image without a package a new role expects would make the tests slow or wrong.
recipe="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
if [[ $force -eq 0 ]] && podman image exists "$RAMPART_LAB_IMAGE"; then
  have="$(podman image inspect --format '{{ index .Labels "rampart.recipe" }}' "$RAMPART_LAB_IMAGE" 2>/dev/null || true)"
  if [[ "$have" == "$recipe" ]]; then
    log "lab image $RAMPART_LAB_IMAGE is current (recipe $recipe); nothing to do"
    exit 0
  fi
  log "lab image $RAMPART_LAB_IMAGE has recipe '${have:-none}', want $recipe: rebuilding"
fi

work="$(mktemp -d /var/tmp/rampart-lab.XXXXXX)"
trap 'rm -rf "$work"' EXIT

configure_rootfs() {
  # Runs inside the image being built (chroot or container build), as root.
  cat <<'INNER'
set -e
export DEBIAN_FRONTEND=noninteractive
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
  "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" > /etc/apt/sources.list
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(echo "$BASE" | tr ',' ' ') >/dev/null
apt-get install -y -qq --no-install-recommends --download-only $CACHED >/dev/null
for alternative in $CACHED_ALT; do
  apt-get install -y -qq --no-install-recommends --download-only "$alternative" >/dev/null
done
# Keep the downloaded packages: this image is a test host, size matters less than speed.
rm -f /etc/apt/apt.conf.d/docker-clean
printf 'APT::Keep-Downloaded-Packages "true";\n' > /etc/apt/apt.conf.d/01rampart-keep
# systemd in a container: no gettys, no hardware units, no first-boot machine-id clash.
systemctl mask getty.target console-getty.service systemd-udevd.service \
  systemd-udev-trigger.service systemd-remount-fs.service sys-kernel-debug.mount \
  sys-kernel-tracing.mount dev-hugepages.mount systemd-logind.service >/dev/null 2>&1 || true
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
echo rampart-lab > /etc/hostname
# Every container gets its own SSH host keys at first boot, never the image's shared ones.
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/systemd/system/ssh.service.d
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
  > /etc/systemd/system/ssh.service.d/rampart-lab-hostkeys.conf
INNER
}

if [[ -n "${RAMPART_LAB_BASE:-}" ]]; then
  log "building $RAMPART_LAB_IMAGE FROM $RAMPART_LAB_BASE"
  {
    echo "FROM $RAMPART_LAB_BASE"
    echo "ENV MIRROR=$mirror SUITE=$suite BASE=$base_packages CACHED=\"$cached_packages\" CACHED_ALT=\"$cached_alternatives\""
    echo "RUN rm -f /etc/apt/sources.list.d/debian.sources && bash -c '$(configure_rootfs | sed "s/'/'\\\\''/g" | paste -sd';' | sed 's/;;/;/g')'"
    echo 'STOPSIGNAL SIGRTMIN+3'
    echo "LABEL rampart.recipe=$recipe"
    echo 'CMD ["/sbin/init"]'
  } > "$work/Containerfile"
  podman build -t "$RAMPART_LAB_IMAGE" "$work"
  exit 0
fi

command -v debootstrap >/dev/null || die "debootstrap is missing: run scripts/bootstrap.sh (make deps) first"
log "debootstrap $suite (minbase) from $mirror into $work/rootfs"
start=$SECONDS
debootstrap --variant=minbase --include="$base_packages" "$suite" "$work/rootfs" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log"; die "debootstrap failed"; }

log "configuring the root filesystem"
# The chroot needs name resolution for apt.
cp /etc/resolv.conf "$work/rootfs/etc/resolv.conf"
configure_rootfs > "$work/rootfs/tmp/configure.sh"
mount --bind /proc "$work/rootfs/proc"
trap 'umount "$work/rootfs/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
MIRROR="$mirror" SUITE="$suite" BASE="$base_packages" CACHED="$cached_packages" CACHED_ALT="$cached_alternatives" \
  chroot "$work/rootfs" /bin/bash /tmp/configure.sh
umount "$work/rootfs/proc"
rm -f "$work/rootfs/tmp/configure.sh" "$work/rootfs/etc/resolv.conf"

log "importing into podman as $RAMPART_LAB_IMAGE"
tar -C "$work/rootfs" -c . | podman import \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' --change "LABEL rampart.recipe=$recipe" \
  --message "rampart lab image ($suite, debootstrap)" - "$RAMPART_LAB_IMAGE" >/dev/null
log "lab image built in $((SECONDS - start)) s"
