# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of playbooks/remediate.yml: a report's findings -> (role, tag) plan; before -> after."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: remediation_plan
short_description: Map a Rampart report's failed checks to the role tags that fix them
version_added: "0.2.0"
description:
  - This file provides C(remediation_plan) (report -> plan) and C(remediation_compare) (the report after a fix
    compared with the report before it).
  - The plan lists, for each selected finding that is not waived, the check, its role (C(fix_role)) and the
    tag of that role's tasks that fix it (C(fix_tag); the role's own tag when the check names none). Selected
    findings that no role fixes are listed under C(unfixable).
  - C(remediation_compare) returns per-check verdicts (C(fixed), C(improved), C(unchanged), C(still_failing),
    C(worse), C(missing)) and C(ok), false when a targeted check still fails, any check got worse or the grade
    dropped.
options:
  _input:
    description: A report dict (RV(rampart.hardening.security_audit#module:report)); for C(remediation_compare) the
      report after the fix.
    type: dict
    required: true
  checks:
    description: Only these check ids (shell patterns such as C(NGX-*) allowed). Empty means all.
    type: list
    elements: str
  categories:
    description: Only checks of these categories. Empty means all.
    type: list
    elements: str
  severities:
    description: Only checks of these severities. Empty means all.
    type: list
    elements: str
    choices: [critical, high, medium, low, info]
  statuses:
    description: Findings with these statuses are fixed.
    type: list
    elements: str
    default: [fail, error]
  targets:
    description:
      - Drift that no check names, each with the C(role) and C(tag) that re-render it and its C(subject) (a path, or
        C(nft ruleset)); the agent's self-healing requests carry these (docs/remediation.md section 8).
      - When given, only the checks named in O(checks) are planned with them, none when O(checks) is empty.
    type: list
    elements: dict
  before:
    description: For C(remediation_compare), the report before the fix.
    type: dict
  targeted:
    description: For C(remediation_compare), the check ids the fix targeted.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Plan the fix of the critical and high findings
  ansible.builtin.set_fact:
    plan: "{{ report | rampart.hardening.remediation_plan(severities=['critical', 'high']) }}"

- name: Fail when a targeted check still fails or anything got worse
  ansible.builtin.assert:
    that: verdict.ok
  vars:
    verdict: "{{ after | rampart.hardening.remediation_compare(before=before, targeted=plan.checks) }}"
"""

RETURN = r"""
_value:
  description: The plan (C(host), C(items), C(checks), C(targets), C(drift), C(roles), C(tags), C(unfixable),
    C(lines)) or the comparison.
  type: dict
"""

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.hardening.plugins.module_utils.remediation import (
    RemediationConfigError,
    build_plan,
    compare,
    parse_selection,
    parse_targets,
)


def remediation_plan(  # noqa: PLR0917 (Jinja passes filter keywords; each is one documented option)
    report: Any,
    checks: Any = None,
    categories: Any = None,
    severities: Any = None,
    statuses: Any = None,
    targets: Any = None,
) -> dict[str, Any]:
    """The remediation plan of one report."""
    try:
        selection = parse_selection(checks, categories, severities, statuses)
        return build_plan(report, selection, parse_targets(targets)).to_dict()
    except RemediationConfigError as exc:
        raise AnsibleFilterError(f"remediation_plan: {exc}") from exc


def remediation_compare(after: Any, before: Any = None, targeted: Any = None) -> dict[str, Any]:
    """Before -> after verdicts of one host."""
    if not isinstance(after, Mapping) or not isinstance(before, Mapping):
        raise AnsibleFilterError("remediation_compare: expected two report dicts (the input and before=)")
    try:
        return compare(before, after, [str(item) for item in targeted or []])
    except RemediationConfigError as exc:
        raise AnsibleFilterError(f"remediation_compare: {exc}") from exc


class FilterModule:
    """Rampart remediation filters."""

    def filters(self) -> dict[str, Any]:
        return {"remediation_plan": remediation_plan, "remediation_compare": remediation_compare}
