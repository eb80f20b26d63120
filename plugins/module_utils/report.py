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
    CategoryScore,
    OverallScore,
    Scored,
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

    def scores(self) -> tuple[dict[str, CategoryScore], OverallScore]:
        return score_all(finding.scored() for finding in self.findings)

    def to_dict(self) -> dict[str, Any]:
        categories, overall = self.scores()
        findings = self.sorted_findings()
        return {
            "scoring_model": SCORING_MODEL,
            "checklist_version": CHECKLIST_VERSION,
            "engine": {"name": ENGINE_NAME, "version": self.engine_version},
            "host": self.host,
            "generated_at": self.generated_at,
            "overall": {
                "score": overall.score,
                "grade": overall.grade,
                "capped_by": overall.capped_by,
            },
            "categories": {name: _category_dict(cat) for name, cat in categories.items()},
            "counts": _counts(findings),
            "findings": [finding.to_dict() for finding in findings],
            "errors": [
                {"id": f.meta.id, "title": f.meta.title, "message": f.message}
                for f in findings
                if f.status is Status.ERROR
            ],
            "waivers": [waiver.to_dict() for waiver in self.waivers],
        }


def _category_dict(cat: CategoryScore) -> dict[str, Any]:
    return {
        "score": cat.score,
        "weight": cat.weight,
        "capped_by": cat.capped_by,
        "counts": dict(cat.counts),
    }


def _counts(findings: list[Finding]) -> dict[str, Any]:
    failed = {severity.value: 0 for severity in Severity}
    status = {state.value: 0 for state in Status}
    for finding in findings:
        status[finding.status.value] += 1
        if finding.status is Status.FAIL:
            failed[finding.meta.severity.value] += 1
    return {"total": len(findings), "failed": failed, "status": status}
