#!/usr/bin/python
# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the audit_host action plugin (plugins/action/audit_host.py does the work)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_host
short_description: Audit a host in one call, probe it from the controller and write its reports there
version_added: "0.2.0"
description:
  - The per-host task of C(playbooks/audit.yml), built for fleets. An action plugin that makes B(one) module
    call on the host (M(rampart.hardening.security_audit) with O(rampart.hardening.security_audit#module:probe_facts),
    which also returns the host's address, the fingerprints of the certificates nginx serves and the firewall
    intent), then runs the outside-in probes of M(rampart.hardening.edge_probe) in the controller's own process,
    merges them into the report with the engine's own merge (the worse of config and network wins, as in the
    module), applies the waivers, and writes every report format under
    C(<report_dir>/<host_label>/<timestamp>/) on the controller.
  - The result is the report M(rampart.hardening.security_audit) would return had it been given the live
    results, and the same return values (RV(score), RV(grade), RV(failed_checks), ...).
  - Nothing on the host is changed. In check mode the audit and the probes run, and no report is written.
author:
  - Rampart maintainers (@rampart)
extends_documentation_fragment:
  - rampart.hardening.attributes
  - rampart.hardening.attributes.flow
  - rampart.hardening.audit_reports
options:
  host_label:
    description: Name of the host in the report, in waiver patterns and in the report path (default the inventory name).
    type: str
  categories:
    description: As O(rampart.hardening.security_audit#module:categories).
    type: list
    elements: str
  checks:
    description: As O(rampart.hardening.security_audit#module:checks).
    type: list
    elements: str
  skip_checks:
    description: As O(rampart.hardening.security_audit#module:skip_checks).
    type: list
    elements: str
    default: []
  custom_checks:
    description: As O(rampart.hardening.security_audit#module:custom_checks).
    type: list
    elements: dict
    default: []
  waivers:
    description: As O(rampart.hardening.security_audit#module:waivers); applied on the controller after the merge.
    type: list
    elements: dict
    default: []
  intent_dir:
    description: As O(rampart.hardening.security_audit#module:intent_dir).
    type: path
    default: /etc/rampart/intent
  min_grade:
    description: Grade to compare with (RV(passed_min_grade)); the task does not fail.
    type: str
    choices: ["A+", A, B, C, D, F]
  live:
    description: Probe the host from the controller and merge the results.
    type: bool
    default: true
  address:
    description:
      - Address to probe. Default the address the host reports for container connections (podman, docker,
        lxd, chroot, local), else C(ansible_host) or the inventory name.
    type: str
  tls_endpoints:
    description:
      - As O(rampart.hardening.edge_probe#module:tls_endpoints). When nginx serves exactly one certificate, its
        on-disk fingerprint is compared with the served one (unless an endpoint sets C(expected_fingerprint)).
    type: list
    elements: dict
    default: []
  urls:
    description: As O(rampart.hardening.edge_probe#module:urls).
    type: list
    elements: str
    default: []
  redirect_names:
    description: As O(rampart.hardening.edge_probe#module:redirect_names).
    type: list
    elements: str
    default: []
  ports:
    description: As O(rampart.hardening.edge_probe#module:ports).
    type: list
    elements: int
    default: [5432, 6379, 6380, 3306, 5671, 5672, 15672, 4369, 25672, 8123, 9000, 9440, 9200, 27017, 11211]
  allowed_services:
    description: As O(rampart.hardening.edge_probe#module:allowed_services). Default the host's firewall intent.
    type: list
    elements: dict
  rate_limit:
    description: As O(rampart.hardening.edge_probe#module:rate_limit).
    type: dict
  ca_file:
    description: As O(rampart.hardening.edge_probe#module:ca_file).
    type: path
  tls_ciphers:
    description: As O(rampart.hardening.edge_probe#module:tls_ciphers).
    type: bool
    default: true
  timeout:
    description: As O(rampart.hardening.edge_probe#module:timeout).
    type: float
    default: 3
  report_dir:
    description: Directory on the controller the reports go under. Required when O(formats) is not empty.
    type: path
  timestamp:
    description: Name of this run's directory (one value for the whole run). Required when O(formats) is not empty.
    type: str
  formats:
    description:
      - Report formats written (C(report.json), C(report.md), C(report.html), C(report.junit.xml),
        C(report.sarif)).
    type: list
    elements: str
    choices: [json, markdown, html, junit, sarif]
    default: [json, markdown, html, junit, sarif]
attributes:
  check_mode:
    support: full
    description: The audit and the probes run; no report is written.
notes:
  - Run it with become, so the checks can read root-only configuration.
seealso:
  - module: rampart.hardening.security_audit
  - module: rampart.hardening.edge_probe
  - module: rampart.hardening.audit_fleet
"""

EXAMPLES = r"""
- name: Audit the host, probe it from here, write all reports under reports/<host>/<timestamp>/
  rampart.hardening.audit_host:
    report_dir: "{{ playbook_dir }}/reports"
    timestamp: "{{ run_timestamp }}"
    tls_endpoints: [{port: 443, server_name: www.example.org}]
    urls: [https://www.example.org/]
    redirect_names: [www.example.org]
    min_grade: B
  become: true
  register: audit
"""

RETURN = r"""
report:
  description: The finished report (live results merged, waivers applied).
  returned: always
  type: dict
score:
  description: Overall score 0-10.
  returned: always
  type: float
grade:
  description: Letter grade.
  returned: always
  type: str
categories:
  description: Score per category.
  returned: always
  type: dict
failed_checks:
  description: Ids of checks with status fail, most severe first.
  returned: always
  type: list
  elements: str
errors:
  description: Checks that could not be evaluated, with the reason.
  returned: always
  type: list
  elements: dict
passed_min_grade:
  description: Whether the grade reached O(min_grade); null when it is not set.
  returned: always
  type: bool
probe_address:
  description: The address probed from the controller (null when O(live) is false).
  returned: always
  type: str
live_checks:
  description: Checks the outside-in probe returned a result for.
  returned: always
  type: list
  elements: str
written:
  description: Report files on the controller (that would be written, in check mode).
  returned: always
  type: list
  elements: str
"""
