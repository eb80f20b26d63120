#!/usr/bin/env bash
# `make demo`: the lab before and after Rampart.
#   1. audit the freshly started stock lab hosts (playbooks/audit.yml),
#   2. converge them with playbooks/site.yml (every role: firewall, ssh, baseline with log
#      shipping to rampart-lab-logs, nginx with an ACME certificate from rampart-lab-acme,
#      postgresql, redis, age-encrypted backups, audit_agent), then do what an operator does
#      on day one: approve the drift baseline (playbooks/drift.yml --tags approve), run a first
#      backup (playbooks/backup.yml) and prove it restores (playbooks/restore.yml, decrypted
#      on the controller with the demo age identity),
#   3. audit again, with the fleet page comparing both runs,
#   4. print both results side by side: per host, grade before -> after and failed checks
#      per severity (critical/high/medium/low/info).
# Extra arguments go to the site.yml run. RAMPART_DEMO_KEEP_LAB=1 keeps an already converged lab
# (the "before" audit then shows it as it is).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"

inventory=inventories/lab
report_dir="$RAMPART_ROOT/reports"
run="$(date -u +%Y%m%dT%H%M%SZ)"
before="$run-before"
after="$run-after"

if [[ "${RAMPART_DEMO_KEEP_LAB:-0}" != 1 ]]; then
  scripts/lab.sh fresh
fi

audit() {
  ansible-playbook -i "$inventory" playbooks/audit.yml -e rampart_audit_min_grade=F \
    -e "rampart_audit_report_dir=$report_dir" -e "rampart_audit_timestamp=$1" "${@:2}"
}

log "BEFORE: auditing the stock lab hosts (playbooks/audit.yml)"
audit "$before"
log "ansible-playbook playbooks/site.yml against $inventory"
site_rc=0
ansible-playbook -i "$inventory" playbooks/site.yml "$@" || site_rc=$?
if [[ "$site_rc" -eq 0 ]]; then
  log "approving the converged state as the drift baseline (playbooks/drift.yml --tags approve)"
  ansible-playbook -i "$inventory" playbooks/drift.yml --tags approve || site_rc=$?
fi
if [[ "$site_rc" -eq 0 ]]; then
  log "first backup (playbooks/backup.yml) and a restore test of each (playbooks/restore.yml)"
  identity="$RAMPART_ROOT/.cache/lab/backup/age.key"
  ansible-playbook -i "$inventory" playbooks/backup.yml &&
    ansible-playbook -i "$inventory" playbooks/restore.yml -e rampart_restore_hosts=db \
      -e rampart_restore_kind=postgresql -e rampart_restore_database=appdb \
      -e "rampart_restore_age_identity=$identity" &&
    ansible-playbook -i "$inventory" playbooks/restore.yml -e rampart_restore_hosts=cache \
      -e rampart_restore_kind=redis -e "rampart_restore_age_identity=$identity" || site_rc=$?
fi
if [[ "$site_rc" -eq 0 ]]; then
  # The second location: the vault pulls over SSH (through the sources' AllowGroups, read-only
  # rrsync) and keeps only copies that match their manifests; a failed pull fails the unit.
  log "the backup vault pulls the encrypted backups of db and cache (rampart-backup-pull.service)"
  ansible -i "$inventory" backup_vault -m ansible.builtin.systemd_service \
    -a "name=rampart-backup-pull.service state=started" &&
    ansible -i "$inventory" backup_vault -m ansible.builtin.shell \
      -a "cd /var/backups/rampart-vault && find . -type f ! -name '*.manifest.json' | sort" || site_rc=$?
fi
# Audit even after a failed converge: the table then shows how far it got.
log "AFTER: auditing the converged lab hosts"
audit "$after" -e "rampart_audit_compare_to=$report_dir/fleet/$before/fleet.json"

# Every host of the inventory gets a row, audited or not ("-" when a run has no result for it).
mapfile -t inventory_hosts < <(ansible-inventory -i "$inventory" --list | python3 -c \
  'import json, sys; print("\n".join(sorted(json.load(sys.stdin)["_meta"]["hostvars"])))')
python3 - "$report_dir/fleet/$before/fleet.json" "$report_dir/fleet/$after/fleet.json" "${inventory_hosts[@]}" <<'PY'
import json
import sys

SEVERITIES = ("critical", "high", "medium", "low", "info")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return {h["host"]: h for h in json.load(handle)["hosts"]}


def grade(row):
    if not row:
        return "-"
    score = "n/a" if row.get("score") is None else f"{row['score']:.1f}"
    mark = "*" if row.get("incomplete") else ""
    return f"{row.get('grade') or 'n/a'}{mark} ({score})"


def failed(row):
    return "-" if not row else "/".join(str((row.get("failed") or {}).get(s, 0)) for s in SEVERITIES)


before, after = load(sys.argv[1]), load(sys.argv[2])
inventory = set(sys.argv[3:])
header = ["HOST", "GRADE BEFORE", "", "GRADE AFTER", "FAILED C/H/M/L/I BEFORE", "", "AFTER", "ERRORS AFTER"]
rows = [
    [host, grade(before.get(host)), "->", grade(after.get(host)), failed(before.get(host)), "->",
     failed(after.get(host)), str((after.get(host) or {}).get("errors", "-"))]
    for host in sorted(set(before) | set(after) | inventory)
]
widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
print()
print("RAMPART DEMO: BEFORE -> AFTER (failed checks per severity; * = incomplete grade)")
for row in [header, *rows]:
    print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
print()
PY
log "fleet page (both runs): $report_dir/fleet/$after/fleet.html"
log "per-host reports: $report_dir/<host>/$after/report.{html,md,json,junit.xml,sarif}"
log "the lab is still running: 'make lab-down' removes it"
log "demo wall time: $((SECONDS / 60)) min $((SECONDS % 60)) s"
[[ "$site_rc" -eq 0 ]] || die "the converge (site.yml, drift approval, backup or restore test) failed (rc $site_rc): the AFTER column shows a partly converged lab"
