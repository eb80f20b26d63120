"""SARIF 2.1.0: one rule per check (with ``security-severity``), one result per evaluated check."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.render.common import (
    category_label,
    fix_hint,
    sorted_findings,
    unjudged,
)

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SECURITY_SEVERITY: dict[str, str] = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "0.0",
}
LEVELS: dict[str, str] = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
KINDS: dict[str, str] = {
    "pass": "pass",
    "partial": "fail",
    "fail": "fail",
    "not_applicable": "notApplicable",
    "error": "review",
}


def _rule(finding: Mapping[str, Any]) -> dict[str, Any]:
    severity = str(finding.get("severity"))
    help_lines = [str(finding.get("remediation", ""))]
    if fix_hint(finding):
        help_lines.append(f"Fix with {fix_hint(finding)}.")
    help_lines += [f"Reference: {ref}" for ref in finding.get("references") or []]
    rule: dict[str, Any] = {
        "id": finding["id"],
        "name": "".join(part.capitalize() for part in str(finding.get("title", finding["id"])).split()[:8])
        or finding["id"],
        "shortDescription": {"text": str(finding.get("title", finding["id"]))},
        "fullDescription": {"text": str(finding.get("rationale") or finding.get("title", ""))},
        "help": {"text": "\n".join(help_lines)},
        "defaultConfiguration": {"level": LEVELS.get(severity, "note")},
        "properties": {
            "security-severity": SECURITY_SEVERITY.get(severity, "0.0"),
            "tags": ["security", "rampart", category_label(str(finding.get("category")))],
            "problem.severity": {"critical": "error", "high": "error", "medium": "warning"}.get(
                severity, "recommendation"
            ),
        },
    }
    links = [ref for ref in finding.get("references") or [] if str(ref).startswith("https://")]
    if links:
        rule["helpUri"] = links[0]
    return rule


def _result(finding: Mapping[str, Any], index: int, host: str) -> dict[str, Any]:
    status = str(finding.get("status"))
    severity = str(finding.get("severity"))
    text = str(finding.get("message", "")) or status
    fingerprint = hashlib.sha256(f"{host}|{finding['id']}".encode()).hexdigest()
    result: dict[str, Any] = {
        "ruleId": finding["id"],
        "ruleIndex": index,
        "kind": KINDS.get(status, "review"),
        "level": LEVELS.get(severity, "note") if status in ("fail", "partial", "error") else "none",
        "message": {"text": text},
        "locations": [
            {
                "logicalLocations": [
                    {
                        "name": finding["id"],
                        "fullyQualifiedName": f"{host or 'host'}/{finding.get('category')}/{finding['id']}",
                        "kind": "resource",
                    }
                ]
            }
        ],
        "partialFingerprints": {"rampartHostCheck/v1": fingerprint},
        "properties": {
            "status": status,
            "host": host,
            "evidence": list(finding.get("evidence") or []),
            "sources": list(finding.get("sources") or []),
        },
    }
    waived = finding.get("waived")
    if waived:
        justification = f"{waived.get('reason', '')} (expires {waived.get('expires', '')})"
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": justification}]
    return result


def build_sarif(report: Mapping[str, Any]) -> dict[str, Any]:
    """The SARIF log as a dict."""
    host = str(report.get("host", ""))
    findings = sorted_findings(list(report.get("findings", [])))
    rules = [_rule(f) for f in findings]
    engine = report.get("engine", {})
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{e['id']}: {e.get('message', '')}"},
            "associatedRule": {"id": e["id"], "index": next(i for i, f in enumerate(findings) if f["id"] == e["id"])},
        }
        for e in report.get("errors", [])
        if any(f["id"] == e["id"] for f in findings)
    ]
    overall = report.get("overall", {})
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Rampart",
                        "fullName": "Rampart security audit (rampart.hardening)",
                        "version": str(engine.get("version", "")),
                        "semanticVersion": str(engine.get("version", "")),
                        "informationUri": "https://example.invalid/rampart/hardening",
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"rampart/{host or 'host'}/"},
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": [_result(f, i, host) for i, f in enumerate(findings)],
                "properties": {
                    "host": host,
                    "score": overall.get("score"),
                    "grade": overall.get("grade"),
                    "incomplete": unjudged(report) > 0,
                    "unjudged": unjudged(report),
                    "scoring_model": report.get("scoring_model"),
                    "checklist_version": report.get("checklist_version"),
                    "generated_at": report.get("generated_at"),
                },
            }
        ],
    }


def render_sarif(report: Mapping[str, Any]) -> str:
    """The SARIF log as pretty JSON text."""
    return json.dumps(build_sarif(report), indent=2, sort_keys=False) + "\n"
