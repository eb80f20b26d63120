"""Helpers shared by the report renderers (they all take the report *dict*)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
STATUSES: tuple[str, ...] = ("pass", "partial", "fail", "not_applicable", "error")
ATTENTION: tuple[str, ...] = ("fail", "partial", "error")
STATUS_LABELS: dict[str, str] = {
    "pass": "pass",
    "partial": "partial",
    "fail": "FAIL",
    "not_applicable": "n/a",
    "error": "ERROR",
}
CATEGORY_LABELS: dict[str, str] = {
    "tls": "TLS",
    "http_headers": "HTTP headers",
    "rate_limiting": "Rate limiting",
    "authentication": "Authentication",
    "certificates": "Certificates",
    "network": "Network",
    "postgresql": "PostgreSQL",
    "redis": "Redis",
    "other_data_services": "Other data services",
    "secrets": "Secrets",
    "ssh_system": "SSH and system",
    "backups": "Backups",
    "logging": "Logging",
    "custom": "Custom",
}


def category_label(name: str) -> str:
    return CATEGORY_LABELS.get(name, name)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def sorted_findings(findings: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Severity first, then id (the report order; re-applied so any dict renders the same)."""
    return sorted(findings, key=lambda f: (severity_rank(str(f.get("severity"))), str(f.get("id"))))


def findings_with_status(report: Mapping[str, Any], statuses: tuple[str, ...]) -> list[Mapping[str, Any]]:
    return [f for f in sorted_findings(list(report.get("findings", []))) if f.get("status") in statuses]


def score_text(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.1f}"


def errors_are_scored(report: Mapping[str, Any]) -> bool:
    """True for rampart-score/2 and later (an error scores like a failure); False for /1."""
    return report.get("scoring_model") != "rampart-score/1"


def unjudged(report: Mapping[str, Any]) -> int:
    """How many checks could not be judged (status error), from any model's report."""
    overall = report.get("overall", {})
    if isinstance(overall.get("unjudged"), int):
        return int(overall["unjudged"])
    return sum(1 for f in report.get("findings", []) if f.get("status") == "error")


def incomplete_note(report: Mapping[str, Any]) -> str:
    """'' or a sentence saying the grade is incomplete and why (every renderer shows it)."""
    count = unjudged(report)
    if not count:
        return ""
    checks = "check" if count == 1 else "checks"
    if errors_are_scored(report):
        return f"incomplete: {count} {checks} could not be judged (scored as failures)"
    return f"incomplete: {count} {checks} could not be judged (left out of the score by {report.get('scoring_model')})"


def errors_section_note(report: Mapping[str, Any]) -> str:
    """How the errors listed in a report were scored."""
    if errors_are_scored(report):
        return "These checks could not be judged. They score like failures of their severity and trigger the same caps."
    return f"These checks could not be judged. {report.get('scoring_model')} left them out of the score."


def overall_line(report: Mapping[str, Any]) -> str:
    overall = report.get("overall", {})
    grade = overall.get("grade") or "n/a"
    line = f"{score_text(overall.get('score'))} / 10, grade {grade}"
    if overall.get("capped_by"):
        line += f" (capped by a failed {overall['capped_by']} check)"
    note = incomplete_note(report)
    if note:
        line += f", {note}"
    return line


def fix_hint(finding: Mapping[str, Any]) -> str:
    """'rampart.hardening.<role> (tag <tag>)' or ''."""
    role = finding.get("fix_role")
    if not role:
        return ""
    name = role if "." in role else f"rampart.hardening.{role}"
    tag = finding.get("fix_tag")
    return f"{name} (tag {tag})" if tag else name
