#!/usr/bin/env bash
# `make demo`: run playbooks/site.yml against the lab, then audit it and show the reports.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RAMPART_ROOT"

log "ansible-playbook playbooks/site.yml against inventories/lab"
ansible-playbook -i inventories/lab playbooks/site.yml "$@"
if [[ -f playbooks/audit.yml ]]; then
  log "ansible-playbook playbooks/audit.yml (reports under reports/)"
  ansible-playbook -i inventories/lab playbooks/audit.yml -e rampart_audit_min_grade=F
  log "reports written:"
  ls -t reports/fleet/*/fleet.html 2>/dev/null | head -1
fi
log "the lab is still running: 'make lab-down' removes it"
