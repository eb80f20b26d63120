#!/usr/bin/python
# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module: run the Rampart security audit on the managed host."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: security_audit
short_description: Audit a host against the Rampart checklist and score it (rampart-score/2)
version_added: "0.1.0"
description:
  - Runs every built-in check of the Rampart checklist whose subject exists on the host (nginx, TLS,
    certificates, firewall, PostgreSQL, Redis, secrets, SSH, system, logging), plus declarative custom checks.
  - Facts are gathered once per run (one C(nginx -T), one C(ss), one C(nft -j list ruleset), ...) and shared
    by the checks. Nothing on the host is changed unless O(dest) is set, in which case report files are
    written there (only when their content differs).
  - Results of outside-in probes (M(rampart.hardening.edge_probe)) passed as O(live_results) are merged with
    what the configuration says; the worse of the two wins and the finding lists both sources.
  - Scores follow the versioned model C(rampart-score/2) (see C(docs/audit.md)); each report names its
    scoring model and checklist version.
author:
  - Rampart maintainers (@rampart)
extends_documentation_fragment:
  - rampart.hardening.attributes
  - rampart.hardening.attributes.idempotent
options:
  categories:
    description: Only run checks of these categories. All categories when omitted.
    type: list
    elements: str
    choices: [tls, http_headers, rate_limiting, authentication, certificates, network, postgresql, redis,
              other_data_services, secrets, ssh_system, backups, logging, custom]
  checks:
    description:
      - Only run these checks. Exact ids (V(TLS-01)) or shell-style patterns (V(TLS-*)).
      - A pattern that matches no check is an error.
    type: list
    elements: str
  skip_checks:
    description: Checks to leave out (ids or patterns).
    type: list
    elements: str
    default: []
  custom_checks:
    description:
      - Declarative site checks. Each is a dict with C(id), C(title), C(severity), optional C(category)
        (default V(custom)), C(rationale), C(remediation), C(references) and exactly one of
        C(file) {path, mode_max, owner, group}, C(regex) {path, pattern, present},
        C(command) {argv, expect_rc, stdout_regex}, C(sysctl) {name, value},
        C(port) {port, proto, listening}, C(package_absent) {name},
        C(service) {name, state, enabled}.
      - Malformed specs fail the module with every problem listed.
    type: list
    elements: dict
    default: []
  waivers:
    description:
      - Accepted risks. Each is a dict with C(id) (check id), C(reason), C(expires) (YYYY-MM-DD, inclusive)
        and optional C(hosts) (shell pattern matched against O(host_label), default V(*)).
      - A waived check counts as not applicable and is listed with its reason and expiry; an expired waiver
        is ignored and reported as expired.
    type: list
    elements: dict
    default: []
  live_results:
    description: The RV(rampart.hardening.edge_probe#module:live_results) of an outside-in probe of this host.
    type: dict
    default: {}
  formats:
    description: Report formats written to O(dest).
    type: list
    elements: str
    choices: [json, markdown, html, junit, sarif]
    default: [json]
  dest:
    description:
      - Directory on the host to write C(report.json), C(report.md), C(report.html), C(report.junit.xml)
        and C(report.sarif) to (per O(formats)). Nothing is written when omitted.
    type: path
  min_grade:
    description: Grade to compare with; the result says whether it was reached (the module does not fail).
    type: str
    choices: ["A+", A, B, C, D, F]
  intent_dir:
    description: Where roles record their declared intent (C(<role>.json)).
    type: path
    default: /etc/rampart/intent
  host_label:
    description: Name of the host in the report and for waiver patterns (default the node name).
    type: str
  probe_facts:
    description:
      - Also return RV(probe_facts), what the controller needs to probe this host from the outside (its
        address, the fingerprints of the certificates nginx serves, the firewall intent's services), so a fleet
        audit needs one call per host (M(rampart.hardening.audit_host) sets it).
    type: bool
    default: false
    version_added: "0.2.0"
attributes:
  check_mode:
    support: full
    description: The audit runs in check mode too; files under O(dest) are then only compared, not written.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details: >-
      Without O(dest) the module never changes anything. With O(dest) it rewrites a report file only when its
      content differs; reports carry their generation time, so consecutive runs normally rewrite them.
  platform:
    platforms: posix
notes:
  - Run it with become, so the checks can read root-only configuration (nginx, PostgreSQL, Redis ACLs).
  - Needs python3-cryptography on the host for certificate checks; without it those checks report an error.
seealso:
  - module: rampart.hardening.edge_probe
"""

EXAMPLES = r"""
- name: Audit the host and keep the result
  rampart.hardening.security_audit:
    host_label: "{{ inventory_hostname }}"
  become: true
  register: audit

- name: Only TLS and headers, skip one check, write HTML and SARIF on the host
  rampart.hardening.security_audit:
    categories: [tls, http_headers]
    skip_checks: [TLS-06]
    formats: [html, sarif]
    dest: /var/lib/rampart/reports
  become: true

- name: Merge outside-in probes, waive a check, add a site rule, require grade B
  rampart.hardening.security_audit:
    host_label: "{{ inventory_hostname }}"
    live_results: "{{ edge.live_results }}"
    min_grade: B
    waivers:
      - id: NET-06
        hosts: "db*"
        reason: Docker is not used for published ports here (ticket SEC-12)
        expires: "2026-03-31"
    custom_checks:
      - id: SITE-01
        title: telnetd is not installed
        severity: high
        package_absent: {name: telnetd}
  become: true
  register: audit

- name: Render the report on the controller
  ansible.builtin.copy:
    content: "{{ audit.report | rampart.hardening.to_html_report }}"
    dest: "reports/{{ inventory_hostname }}.html"
    mode: "0640"
  delegate_to: localhost
"""

RETURN = r"""
report:
  description: The full report (schema in C(docs/report.schema.json)).
  returned: always
  type: dict
score:
  description: Overall score 0-10 (one decimal); null when no check could be scored.
  returned: always
  type: float
  sample: 7.4
grade:
  description: Letter grade (A+, A, B, C, D, F); null when no check could be scored.
  returned: always
  type: str
  sample: C
categories:
  description: Score per category (null when nothing in it was scored).
  returned: always
  type: dict
  sample: {tls: 8.3, network: 4.0}
failed_checks:
  description:
    - Ids of checks with status fail, most severe first.
    - Not called C(failed), which Ansible reserves for the task's own failure flag.
  returned: always
  type: list
  elements: str
  sample: [NET-01, HDR-01]
errors:
  description:
    - Checks that could not be evaluated, with the reason.
    - Under C(rampart-score/2) they score like failures of their severity and the grade is incomplete
      (RV(report) C(overall.incomplete), C(overall.unjudged)).
  returned: always
  type: list
  elements: dict
passed_min_grade:
  description: Whether the grade reached O(min_grade); null when O(min_grade) is not set.
  returned: always
  type: bool
written:
  description: Report files under O(dest) (all of them, changed or not).
  returned: always
  type: list
  elements: str
changed_files:
  description: Report files whose content changed (or would change in check mode).
  returned: always
  type: list
  elements: str
probe_facts:
  description:
    - C(address) (IPv4 source address of the default route, null without one), C(fingerprints) (SHA-256 of the
      leaf certificate of every C(ssl_certificate) in C(nginx -T), as openssl prints them) and
      C(firewall_services) (the C(services) of C(/etc/rampart/intent/firewall.json), empty without it).
  returned: when O(probe_facts) is true
  type: dict
  version_added: "0.2.0"
  sample: {address: 10.89.0.4, fingerprints: ["AB:CD:..."], firewall_services: [{ports: [443], sources: [any]}]}
"""

import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rampart.hardening.plugins.module_utils.custom_checks import CustomCheckError
from ansible_collections.rampart.hardening.plugins.module_utils.engine import (
    AuditConfigError,
    results_from_dicts,
    run_audit,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import CATEGORIES
from ansible_collections.rampart.hardening.plugins.module_utils.probe_targets import probe_facts
from ansible_collections.rampart.hardening.plugins.module_utils.render.formats import FILENAMES, write_reports
from ansible_collections.rampart.hardening.plugins.module_utils.scoring import GRADE_ORDER, grade_at_least

ARGUMENT_SPEC = {
    "categories": {"type": "list", "elements": "str", "choices": list(CATEGORIES)},
    "checks": {"type": "list", "elements": "str"},
    "skip_checks": {"type": "list", "elements": "str", "default": []},
    "custom_checks": {"type": "list", "elements": "dict", "default": []},
    "waivers": {"type": "list", "elements": "dict", "default": []},
    "live_results": {"type": "dict", "default": {}},
    "formats": {"type": "list", "elements": "str", "choices": list(FILENAMES), "default": ["json"]},
    "dest": {"type": "path"},
    "min_grade": {"type": "str", "choices": list(GRADE_ORDER)},
    "intent_dir": {"type": "path", "default": "/etc/rampart/intent"},
    "host_label": {"type": "str"},
    "probe_facts": {"type": "bool", "default": False},
}


def run_module(module: AnsibleModule) -> dict:
    """Everything the module does, as a plain function of its parameters."""
    params = module.params
    facts = Facts(intent_dir=params["intent_dir"], live=results_from_dicts(params["live_results"]))
    report = run_audit(
        facts,
        categories=params["categories"],
        checks=params["checks"],
        skip_checks=params["skip_checks"],
        waivers=params["waivers"],
        custom_checks=params["custom_checks"],
        host=params["host_label"] or platform.node(),
    ).to_dict()
    written: list[str] = []
    changed_files: list[str] = []
    if params["dest"]:
        written, changed_files = write_reports(report, params["formats"], params["dest"], dry_run=module.check_mode)
    overall = report["overall"]
    extra = {"probe_facts": probe_facts(facts)} if params["probe_facts"] else {}
    return {
        **extra,
        "changed": bool(changed_files),
        "report": report,
        "score": overall["score"],
        "grade": overall["grade"],
        "categories": {name: cat["score"] for name, cat in report["categories"].items()},
        "failed_checks": [f["id"] for f in report["findings"] if f["status"] == "fail"],
        "errors": report["errors"],
        "passed_min_grade": grade_at_least(overall["grade"], params["min_grade"]) if params["min_grade"] else None,
        "written": written,
        "changed_files": changed_files,
    }


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run_module(module)
    except (AuditConfigError, CustomCheckError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"cannot write reports: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
