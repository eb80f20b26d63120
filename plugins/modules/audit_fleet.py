#!/usr/bin/python
# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the audit_fleet action plugin (plugins/action/audit_fleet.py does the work)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_fleet
short_description: Write the fleet report of an audit run on the controller
version_added: "0.2.0"
description:
  - Aggregates the reports of every host of the run (the C(report) that M(rampart.hardening.audit_host) or
    M(rampart.hardening.security_audit) registered) into C(<report_dir>/fleet/<timestamp>/fleet.json) and
    C(fleet.html), with the hosts worst first, the grade distribution, failed checks per severity and the failing
    checks across hosts.
  - With O(compare_to), each host also shows its grade and failures in an earlier run (for example before a
    converge), on the page and as C(before) in the JSON.
  - Run it once (C(run_once)). In check mode nothing is written.
author:
  - Rampart maintainers (@rampart)
extends_documentation_fragment:
  - rampart.hardening.attributes
  - rampart.hardening.attributes.flow
  - rampart.hardening.audit_reports
options:
  report_dir:
    description: Directory on the controller the reports go under.
    type: path
    required: true
  timestamp:
    description: Name of this run's directory.
    type: str
    required: true
  reports:
    description: The reports to aggregate. Default the O(result_var) of every host of the play.
    type: list
    elements: dict
  hosts:
    description: Hosts whose O(result_var) is read when O(reports) is not given (default C(ansible_play_hosts_all)).
    type: list
    elements: str
  result_var:
    description: Name of the registered audit result of each host.
    type: str
    default: rampart_audit
  link:
    description: Link from the fleet page to a host's report; C({host}) and C({timestamp}) are replaced.
    type: str
    default: "../../{host}/{timestamp}/report.html"
  compare_to:
    description: An earlier C(fleet.json) (or the directory holding it) to compare every host with.
    type: path
attributes:
  check_mode:
    support: full
    description: Nothing is written.
seealso:
  - module: rampart.hardening.audit_host
"""

EXAMPLES = r"""
- name: Write the fleet page, compared with the audit before the converge
  rampart.hardening.audit_fleet:
    report_dir: "{{ playbook_dir }}/reports"
    timestamp: "{{ run_timestamp }}"
    compare_to: "{{ playbook_dir }}/reports/fleet/before/fleet.json"
  run_once: true
"""

RETURN = r"""
fleet:
  description: The fleet report (the content of fleet.json).
  returned: always
  type: dict
written:
  description: The files written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
"""
