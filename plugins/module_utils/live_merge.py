"""Finish a host's report on the controller: merge outside-in results and apply waivers there.

A fleet audit runs the checks on each host once (``security_audit`` without ``live_results``
and without waivers) and probes the host from the controller at the same time; this module
then does, on the controller and with the same engine functions, exactly what ``run_audit``
does after the checks ran: ``merge_live`` per check, ``apply_waivers``, score. The result is
the report ``security_audit`` would have returned had it been given the live results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.engine import (
    apply_waivers,
    merge_live,
    parse_waivers,
    results_from_dicts,
)
from ansible_collections.rampart.hardening.plugins.module_utils.model import CheckMeta, Result, Severity, Status
from ansible_collections.rampart.hardening.plugins.module_utils.report import Finding, Report, WaiverRecord


class ReportShapeError(ValueError):
    """The dict is not a report this engine can finish (wrong shape)."""


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    """The inverse of ``Finding.to_dict``."""
    try:
        meta = CheckMeta(
            id=data["id"],
            title=data["title"],
            category=data["category"],
            severity=Severity(data["severity"]),
            rationale=data["rationale"],
            remediation=data["remediation"],
            references=tuple(data.get("references") or ()),
            fix_role=data.get("fix_role"),
            fix_tag=data.get("fix_tag"),
        )
        waived_status = data.get("waived_status")
        return Finding(
            meta,
            Status(data["status"]),
            data["message"],
            list(data.get("evidence") or []),
            list(data.get("sources") or ["config"]),
            dict(data["waived"]) if data.get("waived") else None,
            Status(waived_status) if waived_status else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportShapeError(f"finding {data.get('id', '?')!r}: {type(exc).__name__}: {exc}") from exc


def report_from_dict(data: Mapping[str, Any]) -> Report:
    """The inverse of ``Report.to_dict`` (scores are recomputed, never copied)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("findings"), list):
        raise ReportShapeError("expected a Rampart report dict with a findings list")
    return Report(
        host=str(data.get("host", "")),
        generated_at=str(data.get("generated_at", "")),
        findings=[finding_from_dict(item) for item in data["findings"]],
        waivers=[WaiverRecord(**item) for item in data.get("waivers") or []],
        engine_version=str((data.get("engine") or {}).get("version", "")) or Report.engine_version,
    )


def _audit_day(report: Report) -> date:
    try:
        moment = datetime.fromisoformat(report.generated_at)
    except ValueError:
        return datetime.now(UTC).date()
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).date()


def finish_report(
    data: Mapping[str, Any],
    live_results: Mapping[str, Any] | None = None,
    waivers: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Merge ``live_results`` (edge_probe's shape) into an unwaived report, apply ``waivers``, rescore.

    The report must come from ``security_audit`` run without live results and without
    waivers (a finding already waived cannot be re-merged: its own result is gone).
    """
    report = report_from_dict(data)
    if any(f.waived is not None for f in report.findings):
        raise ReportShapeError("the report already has waived findings; audit without waivers, then finish it")
    parsed = parse_waivers(waivers)
    live = results_from_dicts(live_results)
    for finding in report.findings:
        result = live.get(finding.meta.id)
        if result is None:
            continue
        inside = Result(finding.status, finding.message, list(finding.evidence))
        merged, sources = merge_live(inside, result)
        finding.status, finding.message, finding.evidence, finding.sources = (
            merged.status,
            merged.message,
            list(merged.evidence),
            sources,
        )
    report.waivers = apply_waivers(report.findings, parsed, report.host, _audit_day(report))
    return report.to_dict()
