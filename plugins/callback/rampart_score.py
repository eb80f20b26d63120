# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Callback plugin: a per-host Rampart score table at the end of the playbook."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: rampart_score
type: aggregate
short_description: Print a per-host Rampart audit score table at the end of the run
version_added: "0.1.0"
description:
  - Collects every task result that carries a Rampart report (the C(report) returned by
    M(rampart.hardening.security_audit), scoring model C(rampart-score/2) or C(rampart-score/1)) and prints,
    after the play recap,
    one line per host with the score, the grade (marked C(incomplete) when checks could not be
    judged), the number of failed checks per severity and the number of checks in error.
  - The last report of each host wins.
requirements:
  - Enable it with C(callbacks_enabled = rampart.hardening.rampart_score) in ansible.cfg
    or C(ANSIBLE_CALLBACKS_ENABLED=rampart.hardening.rampart_score).
"""

from typing import Any

from ansible.plugins.callback import CallbackBase

SEVERITIES = ("critical", "high", "medium", "low", "info")
SCORING_MODELS = ("rampart-score/1", "rampart-score/2")


def find_report(result: Any) -> dict[str, Any] | None:
    """The Rampart report in a task result (directly, or in a loop's results), if any."""
    if not isinstance(result, dict):
        return None
    report = result.get("report")
    if isinstance(report, dict) and report.get("scoring_model") in SCORING_MODELS:
        return report
    for item in result.get("results") or []:
        found = find_report(item)
        if found is not None:
            return found
    return None


def format_table(reports: dict[str, dict[str, Any]]) -> list[str]:
    """Fixed-width table lines, hosts sorted by score (worst first)."""
    header = ["HOST", "SCORE", "GRADE", *[sev.upper()[:4] for sev in SEVERITIES], "ERRORS"]
    rows = []
    for host, report in sorted(reports.items(), key=lambda kv: (_score(kv[1]), kv[0])):
        overall = report.get("overall", {})
        failed = report.get("counts", {}).get("failed", {})
        score = overall.get("score")
        rows.append(
            [
                host,
                "n/a" if score is None else f"{score:.1f}",
                _grade(overall),
                *[str(failed.get(sev, 0)) for sev in SEVERITIES],
                str(len(report.get("errors", []))),
            ]
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows]]


def _grade(overall: dict[str, Any]) -> str:
    """The grade, with "(incomplete)" when some checks could not be judged (rampart-score/2)."""
    grade = overall.get("grade") or "n/a"
    return f"{grade} (incomplete)" if overall.get("incomplete") else grade


def _score(report: dict[str, Any]) -> float:
    score = report.get("overall", {}).get("score")
    return -1.0 if score is None else float(score)


class CallbackModule(CallbackBase):
    """Remember each host's last Rampart report and print the table at the end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "rampart.hardening.rampart_score"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.reports: dict[str, dict[str, Any]] = {}

    def v2_runner_on_ok(self, result: Any) -> None:
        report = find_report(result._result)
        if report is not None:
            self.reports[result._host.get_name()] = report

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self.reports:
            return
        self._display.banner("RAMPART AUDIT SCORES (failed checks per severity)")
        for line in format_table(self.reports):
            self._display.display(line)
