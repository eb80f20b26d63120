# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters that render Rampart audit reports (the dict security_audit returns) in other formats."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: to_markdown_report
short_description: Render a Rampart audit report
version_added: "0.1.0"
description:
  - This file provides C(to_markdown_report), C(to_html_report), C(to_junit_report), C(to_sarif_report)
    (text of one host's report), C(to_fleet_report) (dict aggregating many reports) and C(to_fleet_html).
  - The input is the RV(rampart.hardening.security_audit#module:report) dict.
options:
  _input:
    description: A report dict (for the fleet filters, a list of report dicts).
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Write the HTML report on the controller
  ansible.builtin.copy:
    content: "{{ audit.report | rampart.hardening.to_html_report }}"
    dest: "reports/{{ inventory_hostname }}.html"
    mode: "0640"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The rendered text (or, for to_fleet_report, a dict).
  type: raw
"""

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.hardening.plugins.module_utils.render.fleet import build_fleet, render_fleet_html
from ansible_collections.rampart.hardening.plugins.module_utils.render.html import render_html
from ansible_collections.rampart.hardening.plugins.module_utils.render.junit import render_junit
from ansible_collections.rampart.hardening.plugins.module_utils.render.markdown import render_markdown
from ansible_collections.rampart.hardening.plugins.module_utils.render.sarif import render_sarif
from ansible_collections.rampart.hardening.plugins.module_utils.scoring import SCORING_MODELS


def _report(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or value.get("scoring_model") not in SCORING_MODELS:
        raise AnsibleFilterError(f"{name}: expected a Rampart report dict (security_audit's 'report')")
    return value


def _reports(value: Any, name: str) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        value = list(value.values())
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise AnsibleFilterError(f"{name}: expected a list of Rampart report dicts")
    return [_report(item, name) for item in value]


def to_markdown_report(value: Any) -> str:
    return render_markdown(_report(value, "to_markdown_report"))


def to_html_report(value: Any, history: Sequence[Mapping[str, Any]] = ()) -> str:
    return render_html(_report(value, "to_html_report"), history)


def to_junit_report(value: Any) -> str:
    return render_junit(_report(value, "to_junit_report"))


def to_sarif_report(value: Any) -> str:
    return render_sarif(_report(value, "to_sarif_report"))


def _links(reports: list[Mapping[str, Any]], links: Mapping[str, str] | str | None) -> dict[str, str]:
    """Per-host report links: a mapping, or a template such as '../{host}/report.html'."""
    if links is None:
        return {}
    if isinstance(links, str):
        return {str(r.get("host", "")): links.replace("{host}", str(r.get("host", ""))) for r in reports}
    return {str(k): str(v) for k, v in links.items()}


def to_fleet_report(value: Any, links: Mapping[str, str] | str | None = None) -> dict[str, Any]:
    reports = _reports(value, "to_fleet_report")
    return build_fleet(reports, _links(reports, links))


def to_fleet_html(value: Any, links: Mapping[str, str] | str | None = None) -> str:
    reports = _reports(value, "to_fleet_html")
    return render_fleet_html(build_fleet(reports, _links(reports, links)))


class FilterModule:
    """Rampart report filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "to_markdown_report": to_markdown_report,
            "to_html_report": to_html_report,
            "to_junit_report": to_junit_report,
            "to_sarif_report": to_sarif_report,
            "to_fleet_report": to_fleet_report,
            "to_fleet_html": to_fleet_html,
        }
