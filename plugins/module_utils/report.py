"""Report model of one audit run and its JSON-ready dict form (docs/report.schema.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.model import (
    SEVERITY_ORDER,
    CheckMeta,
    Severity,
    Status,
)
from ansible_collections.rampart.hardening.plugins.module_utils.scoring import (
    SCORING_MODEL,
    SCORING_MODEL_V2,
    CategoryScore,
    OverallScore,
    Scored,
    check_model,
    score_all,
)

CHECKLIST_VERSION = "1.0"
ENGINE_NAME = "rampart.hardening"
ENGINE_VERSION = "0.1.0"  # keep equal to galaxy.yml (a unit test compares them)


@dataclass
class Finding:
    """One check's outcome on one host, after live merging and waivers."""

    meta: CheckMeta
    status: Status
    message: str
    evidence: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=lambda: ["config"])
    waived: dict[str, str] | None = None
    waived_status: Status | None = None

    def scored(self) -> Scored:
        return Scored(self.meta.category, self.meta.severity, self.status)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.meta.id,
            "title": self.meta.title,
            "category": self.meta.category,
            "severity": self.meta.severity.value,
            "status": self.status.value,
            "message": self.message,
            "evidence": list(self.evidence),
            "rationale": self.meta.rationale,
            "remediation": self.meta.remediation,
            "references": list(self.meta.references),
            "fix_role": self.meta.fix_role,
            "fix_tag": self.meta.fix_tag,
            "sources": list(self.sources),
            "waived": dict(self.waived) if self.waived else None,
        }
        if self.waived_status is not None:
            data["waived_status"] = self.waived_status.value
        return data


@dataclass
class WaiverRecord:
    """A waiver as given, and what became of it in this run."""

    id: str
    hosts: str
    reason: str
    expires: str
    state: str  # applied | expired | unused

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "hosts": self.hosts,
            "reason": self.reason,
            "expires": self.expires,
            "state": self.state,
        }


def finding_sort_key(finding: Finding) -> tuple[int, str]:
    return (SEVERITY_ORDER[finding.meta.severity], finding.meta.id)


@dataclass
class Report:
    """Everything one audit run produced."""

    host: str
    generated_at: str
    findings: list[Finding]
    waivers: list[WaiverRecord] = field(default_factory=list)
    engine_version: str = ENGINE_VERSION

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=finding_sort_key)

    def scores(self, model: str = SCORING_MODEL) -> tuple[dict[str, CategoryScore], OverallScore]:
        return score_all((finding.scored() for finding in self.findings), model)

    def to_dict(self) -> dict[str, Any]:
        categories, overall = self.scores()
        findings = self.sorted_findings()
        return {
            "scoring_model": SCORING_MODEL,
            "checklist_version": CHECKLIST_VERSION,
            "engine": {"name": ENGINE_NAME, "version": self.engine_version},
            "host": self.host,
            "generated_at": self.generated_at,
            "overall": _overall_dict(overall, SCORING_MODEL),
            "categories": {name: _category_dict(cat) for name, cat in categories.items()},
            "counts": _counts([(f.meta.severity.value, f.status.value) for f in findings], SCORING_MODEL),
            "findings": [finding.to_dict() for finding in findings],
            "errors": [
                {"id": f.meta.id, "title": f.meta.title, "message": f.message}
                for f in findings
                if f.status is Status.ERROR
            ],
            "waivers": [waiver.to_dict() for waiver in self.waivers],
        }


def _overall_dict(overall: OverallScore, model: str) -> dict[str, Any]:
    data: dict[str, Any] = {"score": overall.score, "grade": overall.grade, "capped_by": overall.capped_by}
    if model == SCORING_MODEL_V2:
        data["incomplete"] = overall.incomplete
        data["unjudged"] = overall.unjudged
    return data


def _category_dict(cat: CategoryScore) -> dict[str, Any]:
    return {
        "score": cat.score,
        "weight": cat.weight,
        "capped_by": cat.capped_by,
        "counts": dict(cat.counts),
    }


def _counts(pairs: list[tuple[str, str]], model: str) -> dict[str, Any]:
    """Totals from (severity, status) pairs; /2 adds the errored checks per severity."""
    failed = {severity.value: 0 for severity in Severity}
    errored = {severity.value: 0 for severity in Severity}
    status = {state.value: 0 for state in Status}
    for severity, state in pairs:
        status[state] += 1
        if state == Status.FAIL.value:
            failed[severity] += 1
        elif state == Status.ERROR.value:
            errored[severity] += 1
    counts: dict[str, Any] = {"total": len(pairs), "failed": failed, "status": status}
    if model == SCORING_MODEL_V2:
        counts["errored"] = errored
    return counts


def rescore(report: dict[str, Any], model: str = SCORING_MODEL) -> dict[str, Any]:
    """A copy of a report dict (any model) with its scores recomputed under ``model``.

    Only the findings (category, severity, status) are read, so a ``rampart-score/1``
    report can be compared with a ``/2`` one; findings and metadata are kept as they are.
    """
    check_model(model)
    findings = list(report.get("findings") or [])
    items = [Scored(str(f["category"]), Severity(f["severity"]), Status(f["status"])) for f in findings]
    categories, overall = score_all(items, model)
    out = dict(report)
    out["scoring_model"] = model
    out["overall"] = _overall_dict(overall, model)
    out["categories"] = {name: _category_dict(cat) for name, cat in categories.items()}
    out["counts"] = _counts([(str(f["severity"]), str(f["status"])) for f in findings], model)
    return out
