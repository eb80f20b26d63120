"""From finding to fix: a report's failed checks -> the (role, tag) pairs that fix them; before -> after.

Every check names the role that fixes it (``fix_role``) and, mostly, the tag of that role's tasks
(``fix_tag``); a check that names a role but no tag is fixed by the whole role (its role-named tag,
which every role carries). Waived findings are never planned: a waiver is a decision not to fix.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.model import Severity, Status

DEFAULT_STATUSES: tuple[str, ...] = (Status.FAIL.value, Status.ERROR.value)
# How bad a status is when comparing before with after (not_applicable counts as fine: the check
# has nothing to judge; error as bad as fail: the check could not look).
STATUS_RANK: dict[str, int] = {
    Status.PASS.value: 0,
    Status.NOT_APPLICABLE.value: 0,
    Status.PARTIAL.value: 1,
    Status.ERROR.value: 2,
    Status.FAIL.value: 2,
}
GRADES: tuple[str, ...] = ("F", "D", "C", "B", "A", "A+")


class RemediationConfigError(ValueError):
    """A selection or report that cannot be understood (the message names the bad value)."""


@dataclass(frozen=True)
class Selection:
    """Which findings to fix: check ids (fnmatch patterns), categories, severities, statuses (empty = all)."""

    checks: tuple[str, ...] = ()
    categories: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset(DEFAULT_STATUSES)

    def wants(self, finding: Mapping[str, Any]) -> bool:
        check_id = str(finding.get("id", ""))
        return (
            str(finding.get("status")) in self.statuses
            and (not self.checks or any(fnmatch.fnmatchcase(check_id, pattern) for pattern in self.checks))
            and (not self.categories or finding.get("category") in self.categories)
            and (not self.severities or finding.get("severity") in self.severities)
        )


@dataclass(frozen=True)
class PlanItem:
    """One failed check and the part of a role that fixes it."""

    check: str
    title: str
    category: str
    severity: str
    status: str
    role: str
    tag: str

    def to_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "title": self.title,
            "category": self.category,
            "severity": self.severity,
            "status": self.status,
            "role": self.role,
            "tag": self.tag,
        }


@dataclass(frozen=True)
class Target:
    """Drift that no check names (a hand-edited managed file, a changed ruleset) and the part of a
    role that re-renders it: the agent's self-healing requests carry these (docs/remediation.md §8)."""

    subject: str
    role: str
    tag: str

    def to_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "role": self.role, "tag": self.tag}


@dataclass
class Plan:
    """What remediation would re-apply on one host."""

    host: str
    items: list[PlanItem] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    unfixable: list[str] = field(default_factory=list)  # selected, but no role fixes them (by hand)

    @property
    def roles(self) -> list[str]:
        return list(dict.fromkeys([*(item.role for item in self.items), *(t.role for t in self.targets)]))

    @property
    def tags(self) -> list[str]:
        return list(dict.fromkeys([*(item.tag for item in self.items), *(t.tag for t in self.targets)]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "items": [item.to_dict() for item in self.items],
            "checks": [item.check for item in self.items],
            "targets": [target.to_dict() for target in self.targets],
            "drift": [target.subject for target in self.targets],
            "roles": self.roles,
            "tags": self.tags,
            "unfixable": list(self.unfixable),
            "lines": [
                f"{self.host} | {item.check} ({item.severity}, {item.status}) | role {item.role} | tag {item.tag}"
                for item in self.items
            ]
            + [f"{self.host} | drift {t.subject} | role {t.role} | tag {t.tag}" for t in self.targets],
        }


def _names(value: Any, what: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise RemediationConfigError(f"{what}: {value!r} is not a list of names")
    return [str(item).strip() for item in value if str(item).strip()]


def parse_selection(
    checks: Any = None, categories: Any = None, severities: Any = None, statuses: Any = None
) -> Selection:
    """A Selection from playbook values (lists or comma-separated text); unknown values are refused."""
    severity_names = _names(severities, "rampart_remediate_severities")
    bad = sorted(set(severity_names) - {s.value for s in Severity})
    if bad:
        raise RemediationConfigError(f"rampart_remediate_severities: unknown severities {bad}")
    status_names = _names(statuses, "rampart_remediate_statuses") or list(DEFAULT_STATUSES)
    bad = sorted(set(status_names) - set(STATUS_RANK))
    if bad:
        raise RemediationConfigError(f"rampart_remediate_statuses: unknown statuses {bad}")
    return Selection(
        checks=tuple(_names(checks, "rampart_remediate_checks")),
        categories=frozenset(_names(categories, "rampart_remediate_categories")),
        severities=frozenset(severity_names),
        statuses=frozenset(status_names),
    )


def parse_targets(value: Any) -> list[Target]:
    """``rampart_remediate_targets``: a list of {subject, role, tag}; each must name a role and a tag."""
    if value is None or value == "":
        return []
    if not isinstance(value, Sequence) or isinstance(value, str | Mapping):
        raise RemediationConfigError(f"rampart_remediate_targets: {value!r} is not a list of {{subject, role, tag}}")
    targets = []
    for index, raw in enumerate(value):
        where = f"rampart_remediate_targets[{index}]"
        if not isinstance(raw, Mapping) or not all(str(raw.get(key) or "").strip() for key in ("role", "tag")):
            raise RemediationConfigError(f"{where}: {raw!r} needs a role and a tag")
        role, tag = str(raw["role"]).strip(), str(raw["tag"]).strip()
        targets.append(Target(subject=str(raw.get("subject") or f"{role}/{tag}"), role=role, tag=tag))
    return targets


def _findings(report: Any) -> list[Mapping[str, Any]]:
    if not isinstance(report, Mapping) or not isinstance(report.get("findings"), Sequence):
        raise RemediationConfigError("expected a Rampart report dict with a 'findings' list")
    return [finding for finding in report["findings"] if isinstance(finding, Mapping)]


def build_plan(report: Mapping[str, Any], selection: Selection | None = None, targets: Sequence[Target] = ()) -> Plan:
    """The (role, tag) pairs that fix the report's selected, unwaived findings, in report order, then
    the ``targets``. With targets, only checks named in the selection are planned (none when it names
    none): a self-healing request for drift alone must not turn into "fix every failing check"."""
    chosen = selection or Selection()
    plan = Plan(host=str(report.get("host", "")) if isinstance(report, Mapping) else "", targets=list(targets))
    for finding in _findings(report):
        if finding.get("waived") or not chosen.wants(finding) or (targets and not chosen.checks):
            continue
        role = finding.get("fix_role")
        if not role:
            plan.unfixable.append(str(finding.get("id")))
            continue
        plan.items.append(
            PlanItem(
                check=str(finding["id"]),
                title=str(finding.get("title", "")),
                category=str(finding.get("category", "")),
                severity=str(finding.get("severity", "")),
                status=str(finding.get("status", "")),
                role=str(role),
                tag=str(finding.get("fix_tag") or role),
            )
        )
    return plan


def _statuses(report: Mapping[str, Any]) -> dict[str, str]:
    return {str(f.get("id")): str(f.get("status")) for f in _findings(report)}


def _grade(report: Mapping[str, Any]) -> str | None:
    overall = report.get("overall")
    return overall.get("grade") if isinstance(overall, Mapping) else None


def _score(report: Mapping[str, Any]) -> Any:
    overall = report.get("overall")
    return overall.get("score") if isinstance(overall, Mapping) else None


def _verdict(before: str | None, after: str | None, targeted: bool) -> str:
    if after is None:
        return "missing"
    rank_before = STATUS_RANK.get(before or "", 0)
    rank_after = STATUS_RANK.get(after, 2)
    if rank_after > rank_before:
        return "worse"
    if targeted and rank_after > 0:
        return "still_failing"
    if rank_after < rank_before:
        return "fixed" if rank_after == 0 else "improved"
    return "unchanged"


def compare(before: Mapping[str, Any], after: Mapping[str, Any], targeted: Sequence[str] = ()) -> dict[str, Any]:
    """Before -> after of one host: per-check verdicts; ``ok`` is false when a targeted check still
    fails or any check got worse (a check that disappeared from the report counts as worse)."""
    was, now = _statuses(before), _statuses(after)
    wanted = set(targeted)
    rows = [
        {
            "check": check_id,
            "before": was.get(check_id),
            "after": now.get(check_id),
            "targeted": check_id in wanted,
            "verdict": _verdict(was.get(check_id), now.get(check_id), check_id in wanted),
        }
        for check_id in sorted(set(was) | wanted)
    ]
    changed = [row for row in rows if row["verdict"] != "unchanged" or row["targeted"]]
    still = [row["check"] for row in rows if row["verdict"] == "still_failing"]
    worse = [row["check"] for row in rows if row["verdict"] in {"worse", "missing"}]
    grade_before, grade_after = _grade(before), _grade(after)
    grade_worse = (
        grade_before in GRADES and grade_after in GRADES and GRADES.index(grade_after) < GRADES.index(grade_before)
    )
    return {
        "host": str(after.get("host") or before.get("host") or ""),
        "grade_before": grade_before,
        "grade_after": grade_after,
        "score_before": _score(before),
        "score_after": _score(after),
        "changes": changed,
        "lines": [f"{row['check']}: {row['before']} -> {row['after']} ({row['verdict']})" for row in changed],
        "fixed": [row["check"] for row in rows if row["verdict"] == "fixed"],
        "still_failing": still,
        "worse": worse,
        "grade_worse": grade_worse,
        "ok": not still and not worse and not grade_worse,
    }
