"""JUnit XML: one testsuite per category, one testcase per check.

fail/partial -> <failure>, error -> <error>, not_applicable -> <skipped>, pass -> plain.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.render.common import (
    category_label,
    fix_hint,
    score_text,
    sorted_findings,
    unjudged,
)


def _details(finding: Mapping[str, Any]) -> str:
    lines = [str(finding.get("message", ""))]
    lines += [f"evidence: {item}" for item in finding.get("evidence") or []]
    lines.append(f"remediation: {finding.get('remediation', '')}")
    if fix_hint(finding):
        lines.append(f"fix with: {fix_hint(finding)}")
    lines += [f"reference: {ref}" for ref in finding.get("references") or []]
    return "\n".join(lines)


def _testcase(suite: ET.Element, host: str, finding: Mapping[str, Any]) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "name": f"{finding['id']} {finding.get('title', '')}",
            "classname": f"rampart.{host or 'host'}.{finding.get('category')}",
            "time": "0",
        },
    )
    status = finding.get("status")
    message = f"[{finding.get('severity')}] {finding.get('message', '')}"
    if status in ("fail", "partial"):
        failure = ET.SubElement(case, "failure", {"message": message, "type": f"{status}:{finding.get('severity')}"})
        failure.text = _details(finding)
    elif status == "error":
        err = ET.SubElement(case, "error", {"message": message, "type": "error"})
        err.text = _details(finding)
    elif status == "not_applicable":
        ET.SubElement(case, "skipped", {"message": str(finding.get("message", ""))})


def _counts(findings: list[Mapping[str, Any]]) -> dict[str, str]:
    return {
        "tests": str(len(findings)),
        "failures": str(sum(1 for f in findings if f.get("status") in ("fail", "partial"))),
        "errors": str(sum(1 for f in findings if f.get("status") == "error")),
        "skipped": str(sum(1 for f in findings if f.get("status") == "not_applicable")),
        "time": "0",
    }


def render_junit(report: Mapping[str, Any]) -> str:
    """The report as a JUnit XML document (UTF-8 string with an XML declaration)."""
    host = str(report.get("host", ""))
    findings = sorted_findings(list(report.get("findings", [])))
    root = ET.Element(
        "testsuites",
        {"name": f"Rampart security audit {host}".strip(), **_counts(findings)},
    )
    categories = sorted({str(f.get("category")) for f in findings})
    for category in categories:
        members = [f for f in findings if f.get("category") == category]
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"{host or 'host'}: {category_label(category)}",
                "timestamp": str(report.get("generated_at", ""))[:19],
                "hostname": host or "localhost",
                **_counts(members),
            },
        )
        props = ET.SubElement(suite, "properties")
        cat = report.get("categories", {}).get(category, {})
        ET.SubElement(props, "property", {"name": "category_score", "value": score_text(cat.get("score"))})
        ET.SubElement(props, "property", {"name": "scoring_model", "value": str(report.get("scoring_model", ""))})
        ET.SubElement(props, "property", {"name": "grade", "value": str(report.get("overall", {}).get("grade"))})
        ET.SubElement(props, "property", {"name": "unjudged_checks", "value": str(unjudged(report))})
        for finding in members:
            _testcase(suite, host, finding)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
