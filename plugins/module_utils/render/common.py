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


def overall_line(report: Mapping[str, Any]) -> str:
    overall = report.get("overall", {})
    grade = overall.get("grade") or "n/a"
    line = f"{score_text(overall.get('score'))} / 10, grade {grade}"
    if overall.get("capped_by"):
        line += f" (capped by a failed {overall['capped_by']} check)"
    return line


def fix_hint(finding: Mapping[str, Any]) -> str:
    """'rampart.hardening.<role> (tag <tag>)' or ''."""
    role = finding.get("fix_role")
    if not role:
        return ""
    name = role if "." in role else f"rampart.hardening.{role}"
    tag = finding.get("fix_tag")
    return f"{name} (tag {tag})" if tag else name
