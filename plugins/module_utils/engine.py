"""The audit engine: select checks, run them against Facts, merge live results, apply waivers."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.custom_checks import (
    compile_custom_checks,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.model import (
    CATEGORIES,
    Result,
    Status,
    error,
)
from ansible_collections.rampart.hardening.plugins.module_utils.registry import (
    RegisteredCheck,
    registered_checks,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report import (
    Finding,
    Report,
    WaiverRecord,
)

DEFINITIVE = (Status.PASS, Status.PARTIAL, Status.FAIL)
# Higher is worse: used to combine what the config says with what the network says.
BADNESS = {Status.PASS: 0, Status.PARTIAL: 1, Status.FAIL: 2}


class AuditConfigError(ValueError):
    """The audit was asked for something impossible (unknown check, bad waiver, ...)."""


@dataclass(frozen=True)
class Waiver:
    """An accepted risk: check ``id`` on hosts matching ``hosts`` until ``expires`` (inclusive)."""

    id: str
    hosts: str
    reason: str
    expires: date

    def matches(self, check_id: str, host: str) -> bool:
        return self.id == check_id and fnmatch.fnmatchcase(host, self.hosts)


def load_builtin_checks() -> list[RegisteredCheck]:
    """Import every check pack (static imports, so AnsiballZ bundles them) and list the checks."""
    from ansible_collections.rampart.hardening.plugins.module_utils import checks  # noqa: F401, PLC0415

    return registered_checks()


# ----- waivers ----------------------------------------------------------------------------
def parse_waiver(raw: Mapping[str, Any], index: int) -> Waiver:
    """Validate one waiver dict; errors name the waiver and the field."""
    where = f"waivers[{index}]"
    if not isinstance(raw, Mapping):
        raise AuditConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - {"id", "hosts", "reason", "expires"})
    if unknown:
        raise AuditConfigError(f"{where}: unknown keys {', '.join(unknown)}")
    check_id = raw.get("id")
    if not isinstance(check_id, str) or not check_id:
        raise AuditConfigError(f"{where}: 'id' is required (the check id to waive)")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise AuditConfigError(f"{where} ({check_id}): 'reason' is required and must be non-empty")
    hosts = raw.get("hosts", "*")
    if not isinstance(hosts, str) or not hosts:
        raise AuditConfigError(f"{where} ({check_id}): 'hosts' must be a host pattern string")
    expires_raw = raw.get("expires")
    if isinstance(expires_raw, date) and not isinstance(expires_raw, datetime):
        expires = expires_raw
    else:
        try:
            expires = date.fromisoformat(str(expires_raw))
        except ValueError as exc:
            raise AuditConfigError(
                f"{where} ({check_id}): 'expires' must be a date YYYY-MM-DD, got {expires_raw!r}"
            ) from exc
    return Waiver(check_id, hosts, reason.strip(), expires)


def parse_waivers(raw: Iterable[Mapping[str, Any]]) -> list[Waiver]:
    return [parse_waiver(item, index) for index, item in enumerate(raw or ())]


def apply_waivers(findings: list[Finding], waivers: Sequence[Waiver], host: str, today: date) -> list[WaiverRecord]:
    """Turn findings covered by an unexpired waiver into not_applicable; record every waiver."""
    by_id = {finding.meta.id: finding for finding in findings}
    records: list[WaiverRecord] = []
    for waiver in waivers:
        finding = by_id.get(waiver.id)
        if waiver.expires < today:
            state = "expired"
        elif finding is not None and finding.waived is None and waiver.matches(finding.meta.id, host):
            state = "applied"
            finding.waived = {"reason": waiver.reason, "expires": waiver.expires.isoformat()}
            finding.waived_status = finding.status
            finding.message = (
                f"waived until {waiver.expires.isoformat()}: {waiver.reason} "
                f"(was {finding.status.value}: {finding.message})"
            )
            finding.status = Status.NOT_APPLICABLE
        else:
            state = "unused"
        records.append(WaiverRecord(waiver.id, waiver.hosts, waiver.reason, waiver.expires.isoformat(), state))
    return records


# ----- live merging -----------------------------------------------------------------------
def _tagged(prefix: str, result: Result) -> list[str]:
    return [f"{prefix}: {item}" for item in result.evidence]


def result_from_dict(check_id: str, raw: Any) -> Result:
    """A Result from its dict shape ``{status, message, evidence}`` (as edge_probe returns it)."""
    if isinstance(raw, Result):
        return raw
    if not isinstance(raw, Mapping):
        raise AuditConfigError(f"live_results[{check_id}]: expected a mapping, got {type(raw).__name__}")
    try:
        status = Status(raw.get("status"))
    except ValueError as exc:
        raise AuditConfigError(f"live_results[{check_id}]: unknown status {raw.get('status')!r}") from exc
    evidence = raw.get("evidence") or []
    if not isinstance(evidence, list):
        raise AuditConfigError(f"live_results[{check_id}]: evidence must be a list")
    return Result(status, str(raw.get("message", "")), [str(item) for item in evidence])


def results_from_dicts(raw: Mapping[str, Any] | None) -> dict[str, Result]:
    """Convert edge_probe's ``live_results`` to Results keyed by check id."""
    return {str(key): result_from_dict(str(key), value) for key, value in (raw or {}).items()}


def merge_live(inside: Result, live: Result) -> tuple[Result, list[str]]:
    """Combine what the config says with what the network says (fail > partial > pass)."""
    if live.status not in DEFINITIVE:
        note = [f"live ({live.status.value}): {live.message}", *_tagged("live", live)]
        return Result(inside.status, inside.message, [*inside.evidence, *note]), ["config"]
    if inside.status is Status.NOT_APPLICABLE:
        note = [f"config (not_applicable): {inside.message}"]
        return Result(live.status, live.message, [*live.evidence, *note]), ["live"]
    if inside.status is Status.ERROR:
        note = [f"config (error): {inside.message}", *_tagged("live", live)]
        if live.status is Status.PASS:
            return Result(Status.ERROR, inside.message, [*inside.evidence, *note]), ["config", "live"]
        return Result(live.status, live.message, [*inside.evidence, *note]), ["config", "live"]
    worst = inside if BADNESS[inside.status] >= BADNESS[live.status] else live
    evidence = [*_tagged("config", inside), *_tagged("live", live)]
    if inside.status is live.status:
        message = worst.message if inside.message == live.message else f"{inside.message}; live: {live.message}"
    else:
        message = f"config says: {inside.message}; the network says: {live.message}"
    return Result(worst.status, message, evidence), ["config", "live"]


# ----- running ----------------------------------------------------------------------------
def run_check(registered: RegisteredCheck, facts: Facts) -> Result:
    """Run one check; nothing it raises escapes (ProbeError and bugs become ``error``)."""
    try:
        result = registered.run(facts)
    except ProbeError as exc:
        return error(str(exc) or type(exc).__name__)
    except Exception as exc:
        return error(f"check crashed: {type(exc).__name__}: {exc}")
    if not isinstance(result, Result) or not isinstance(result.status, Status):
        return error(f"check returned {type(result).__name__}, not a Result")
    return result


def _matches_any(check_id: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(check_id, pattern) for pattern in patterns)


def select_checks(
    available: Sequence[RegisteredCheck],
    categories: Sequence[str] | None,
    checks: Sequence[str] | None,
    skip_checks: Sequence[str],
) -> list[RegisteredCheck]:
    """Filter by category, by id (exact or glob such as ``TLS-*``) and skip list."""
    for category in categories or ():
        if category not in CATEGORIES:
            raise AuditConfigError(f"unknown category {category!r} (expected one of {', '.join(CATEGORIES)})")
    ids = [item.meta.id for item in available]
    for pattern in [*(checks or ()), *skip_checks]:
        if not any(fnmatch.fnmatchcase(check_id, pattern) for check_id in ids):
            raise AuditConfigError(f"no check matches {pattern!r}")
    selected = []
    for item in available:
        if categories and item.meta.category not in categories:
            continue
        if checks and not _matches_any(item.meta.id, checks):
            continue
        if _matches_any(item.meta.id, skip_checks):
            continue
        selected.append(item)
    return selected


def run_audit(
    facts: Facts,
    *,
    categories: Sequence[str] | None = None,
    checks: Sequence[str] | None = None,
    skip_checks: Sequence[str] = (),
    waivers: Iterable[Mapping[str, Any]] = (),
    custom_checks: Iterable[Mapping[str, Any]] = (),
    host: str = "",
    now: datetime | None = None,
    available: Sequence[RegisteredCheck] | None = None,
) -> Report:
    """Audit one host. ``available`` overrides the built-in checks (tests)."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    parsed_waivers = parse_waivers(waivers)
    builtin = list(available) if available is not None else load_builtin_checks()
    custom = compile_custom_checks(custom_checks)
    clash = sorted({c.meta.id for c in custom} & {b.meta.id for b in builtin})
    if clash:
        raise AuditConfigError(f"custom check ids clash with built-in checks: {', '.join(clash)}")
    selected = select_checks([*builtin, *custom], categories, checks, skip_checks)
    findings = []
    for registered in selected:
        result = run_check(registered, facts)
        sources = ["config"]
        live = facts.live.get(registered.meta.id)
        if isinstance(live, Result):
            result, sources = merge_live(result, live)
        findings.append(Finding(registered.meta, result.status, result.message, list(result.evidence), sources))
    records = apply_waivers(findings, parsed_waivers, host, moment.date())
    return Report(
        host=host,
        generated_at=moment.isoformat(timespec="seconds"),
        findings=findings,
        waivers=records,
    )
