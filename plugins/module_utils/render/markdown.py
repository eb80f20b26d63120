"""Markdown rendering of one report (readable in a terminal, a PR comment or a wiki)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.render.common import (
    ATTENTION,
    SEVERITIES,
    STATUS_LABELS,
    category_label,
    errors_section_note,
    findings_with_status,
    fix_hint,
    overall_line,
    score_text,
)


def md_escape(text: Any) -> str:
    """Make text safe inside a table cell or a line (pipes, newlines, markup)."""
    value = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    for char in ("*", "_", "`", "<", ">", "[", "]"):
        value = value.replace(char, "\\" + char)
    return value


def _code(text: Any) -> str:
    value = str(text).replace("\n", " ")
    fence = "``" if "`" in value else "`"
    return f"{fence} {value} {fence}" if fence == "``" else f"`{value}`"


def _header(report: Mapping[str, Any]) -> list[str]:
    engine = report.get("engine", {})
    return [
        f"# Rampart security audit: {md_escape(report.get('host') or 'unnamed host')}",
        "",
        f"Generated {md_escape(report.get('generated_at', ''))} by {engine.get('name', 'rampart')} "
        f"{engine.get('version', '')}, scoring model `{report.get('scoring_model')}`, "
        f"checklist {report.get('checklist_version')}.",
        "",
        f"**Overall: {overall_line(report)}**",
        "",
    ]


def _severity_counts(report: Mapping[str, Any]) -> list[str]:
    counts = report.get("counts", {})
    failed = counts.get("failed", {})
    cells = " | ".join(str(failed.get(sev, 0)) for sev in SEVERITIES)
    lines = [
        "| Checks | critical | high | medium | low | info |",
        "|---|---:|---:|---:|---:|---:|",
        f"| Failed | {cells} |",
    ]
    errored = counts.get("errored")
    if isinstance(errored, dict) and any(errored.values()):
        lines.append("| Could not be judged | " + " | ".join(str(errored.get(sev, 0)) for sev in SEVERITIES) + " |")
    return [*lines, ""]


def _categories(report: Mapping[str, Any]) -> list[str]:
    lines = [
        "## Categories",
        "",
        "| Category | Score | Pass | Partial | Fail | N/A | Error |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, cat in sorted(report.get("categories", {}).items()):
        counts = cat.get("counts", {})
        score = score_text(cat.get("score"))
        if cat.get("capped_by"):
            score += f" (cap: {cat['capped_by']})"
        numbers = " | ".join(str(counts.get(key, 0)) for key in ("pass", "partial", "fail", "not_applicable", "error"))
        lines.append(f"| {category_label(name)} | {score} | {numbers} |")
    return [*lines, ""]


def _finding(finding: Mapping[str, Any]) -> list[str]:
    status = STATUS_LABELS.get(str(finding.get("status")), str(finding.get("status")))
    lines = [
        f"### {finding['id']} {md_escape(finding.get('title', ''))}",
        "",
        f"**{status}**, severity {finding.get('severity')}, category {category_label(str(finding.get('category')))}"
        f", seen by {' + '.join(finding.get('sources', []))}",
        "",
        md_escape(finding.get("message", "")),
        "",
    ]
    evidence = finding.get("evidence") or []
    if evidence:
        lines += ["Evidence:", "", *[f"- {_code(item)}" for item in evidence], ""]
    lines += [f"**Remediation:** {md_escape(finding.get('remediation', ''))}", ""]
    if fix_hint(finding):
        lines += [f"**Fix with:** `{fix_hint(finding)}`", ""]
    if finding.get("references"):
        lines += ["References: " + ", ".join(md_escape(ref) for ref in finding["references"]), ""]
    return lines


def _attention(report: Mapping[str, Any]) -> list[str]:
    findings = findings_with_status(report, ("fail", "partial"))
    if not findings:
        return ["## Findings", "", "No failed or partial checks.", ""]
    lines = ["## Findings needing attention", ""]
    for finding in findings:
        lines += _finding(finding)
    return lines


def _errors(report: Mapping[str, Any]) -> list[str]:
    errors = report.get("errors", [])
    if not errors:
        return []
    lines = ["## Errors (could not be judged, never a pass)", "", errors_section_note(report), ""]
    lines += [f"- **{e['id']}** {md_escape(e.get('title', ''))}: {md_escape(e.get('message', ''))}" for e in errors]
    return [*lines, ""]


def _waivers(report: Mapping[str, Any]) -> list[str]:
    waivers = report.get("waivers", [])
    if not waivers:
        return []
    lines = ["## Waivers", "", "| Check | Hosts | Expires | State | Reason |", "|---|---|---|---|---|"]
    for waiver in waivers:
        lines.append(
            f"| {waiver['id']} | {md_escape(waiver['hosts'])} | {waiver['expires']} | {waiver['state']} | "
            f"{md_escape(waiver['reason'])} |"
        )
    return [*lines, ""]


def _others(report: Mapping[str, Any]) -> list[str]:
    findings = [f for f in findings_with_status(report, ("pass", "not_applicable")) if f.get("status") not in ATTENTION]
    if not findings:
        return []
    lines = ["## Other checks", "", "| Check | Severity | Status | Result |", "|---|---|---|---|"]
    for finding in findings:
        status = STATUS_LABELS[str(finding["status"])]
        lines.append(
            f"| {finding['id']} {md_escape(finding.get('title', ''))} | {finding['severity']} | {status} | "
            f"{md_escape(finding.get('message', ''))} |"
        )
    return [*lines, ""]


def render_markdown(report: Mapping[str, Any]) -> str:
    """The whole report as Markdown."""
    lines = [
        *_header(report),
        *_severity_counts(report),
        *_categories(report),
        *_attention(report),
        *_errors(report),
        *_waivers(report),
        *_others(report),
    ]
    return "\n".join(lines).rstrip() + "\n"
