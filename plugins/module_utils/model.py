"""Core data model of the Rampart audit engine: severities, statuses, check metadata, results.

This module is imported by every check pack, so it stays small and depends on the
standard library only (it also runs on the audited hosts inside AnsiballZ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How bad a failure of a check is (CHECKLIST.md: C/H/M/L/I)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Status(StrEnum):
    """Outcome of one check on one host."""

    PASS = "pass"
    PARTIAL = "partial"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


CATEGORIES: tuple[str, ...] = (
    "tls",
    "http_headers",
    "rate_limiting",
    "authentication",
    "certificates",
    "network",
    "postgresql",
    "redis",
    "other_data_services",
    "secrets",
    "ssh_system",
    "backups",
    "logging",
    "custom",
)

# Order used everywhere findings are listed: most severe first.
SEVERITY_ORDER: dict[Severity, int] = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
    Severity.INFO: 4,
}


@dataclass(frozen=True)
class CheckMeta:
    """Everything a report says about a check besides its result."""

    id: str
    title: str
    category: str
    severity: Severity
    rationale: str
    remediation: str
    references: tuple[str, ...] = ()
    fix_role: str | None = None
    fix_tag: str | None = None

    def __post_init__(self) -> None:
        if not self.id or not isinstance(self.id, str):
            raise ValueError("check id must be a non-empty string")
        if self.category not in CATEGORIES:
            raise ValueError(
                f"check {self.id}: unknown category {self.category!r} (expected one of {', '.join(CATEGORIES)})"
            )
        if not isinstance(self.severity, Severity):
            raise TypeError(f"check {self.id}: severity must be a Severity, got {self.severity!r}")


@dataclass
class Result:
    """What a check found: a status, a one-line message and the evidence that was seen."""

    status: Status
    message: str
    evidence: list[str] = field(default_factory=list)


def _evidence(evidence: list[str] | tuple[str, ...] | None) -> list[str]:
    return [str(item) for item in evidence] if evidence else []


def passed(message: str, evidence: list[str] | tuple[str, ...] | None = None) -> Result:
    """The check passed."""
    return Result(Status.PASS, message, _evidence(evidence))


def failed(message: str, evidence: list[str] | tuple[str, ...] | None = None) -> Result:
    """The check failed."""
    return Result(Status.FAIL, message, _evidence(evidence))


def partial(message: str, evidence: list[str] | tuple[str, ...] | None = None) -> Result:
    """The check is partly satisfied (scores half)."""
    return Result(Status.PARTIAL, message, _evidence(evidence))


def not_applicable(message: str, evidence: list[str] | tuple[str, ...] | None = None) -> Result:
    """The subject of the check is not present on this host."""
    return Result(Status.NOT_APPLICABLE, message, _evidence(evidence))


def error(message: str, evidence: list[str] | tuple[str, ...] | None = None) -> Result:
    """The check could not be evaluated (never counts as a pass)."""
    return Result(Status.ERROR, message, _evidence(evidence))
