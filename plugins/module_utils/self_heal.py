"""Opt-in self-healing of the audit agent (docs/remediation.md section 8).

Per check category the agent's configuration says ``report`` (the default: drift is only reported) or
``enforce``. On drift in an ``enforce`` category -- a check that passed when the baseline was approved
and now fails -- the agent appends a signed ``REMEDIATION_REQUESTED`` entry naming the checks and the
role/tag that fixes each. It never runs Ansible itself: ``playbooks/drift.yml`` finds the open request
in the chain it verified and answers it with ``playbooks/remediate.yml`` (window, snapshot, health,
re-audit, rollback), whose outcome is appended to the same chain as an answer naming the request.

This module holds the pure parts: the modes, which findings a request carries, and the pairing of
requests with their answers (each request is answered once; the agent refuses a second answer).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.evidence import PAYLOAD_TYPE
from ansible_collections.rampart.hardening.plugins.module_utils.model import CATEGORIES

MODES: tuple[str, ...] = ("report", "enforce")
VARIABLE = "rampart_audit_agent_remediation"
REQUESTED = "requested"
# Events that answer a request (remediate.yml: applied, rollback, refused; drift.yml when remediate.yml
# could not answer: nothing_to_fix, failed). An override is recorded too, but answers nothing.
ANSWERS: frozenset[str] = frozenset({"applied", "rollback", "refused", "nothing_to_fix", "failed"})
# After these answers the same checks are not requested again under the same baseline: a fix that
# rolled back, failed or that the controller found nothing to do for would otherwise repeat every
# cycle. Re-approving the baseline (or fixing by hand) releases them.
HOLDING: frozenset[str] = frozenset({"rollback", "failed", "nothing_to_fix"})
FAILING: frozenset[str] = frozenset({"fail", "error"})


class SelfHealConfigError(ValueError):
    """A remediation mode setting that cannot be understood (the message names the variable and value)."""


class AnswerRefused(Exception):
    """An answer to a request that is not open (unknown, or already answered)."""


def parse_modes(raw: Any) -> dict[str, str]:
    """{category: mode} from the agent configuration; unknown categories or modes are refused."""
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, Mapping):
        raise SelfHealConfigError(f"{VARIABLE}: {raw!r} must be a mapping of check category to report|enforce")
    modes: dict[str, str] = {}
    for category, mode in raw.items():
        if category not in CATEGORIES:
            raise SelfHealConfigError(
                f"{VARIABLE}: unknown check category {category!r} (expected one of {', '.join(CATEGORIES)})"
            )
        if mode not in MODES:
            raise SelfHealConfigError(f"{VARIABLE}.{category}: {mode!r} must be report or enforce")
        modes[str(category)] = str(mode)
    return modes


def enforced(modes: Mapping[str, str]) -> frozenset[str]:
    return frozenset(category for category, mode in modes.items() if mode == "enforce")


def request_items(
    report: Mapping[str, Any],
    drift_items: Iterable[Mapping[str, Any]] | None,
    modes: Mapping[str, str],
    held: Iterable[str] = (),
) -> list[dict[str, str]]:
    """What a request carries: each check of an enforce category that regressed against the baseline
    (``check_regressed``), is not waived and names the role that fixes it, minus ``held`` checks."""
    categories = enforced(modes)
    if not categories:
        return []
    regressed = {str(item.get("key")) for item in drift_items or () if item.get("kind") == "check_regressed"}
    skip = set(held)
    items = []
    for finding in report.get("findings", []):
        check_id = str(finding.get("id"))
        if (
            check_id in regressed
            and check_id not in skip
            and finding.get("category") in categories
            and finding.get("status") in FAILING
            and finding.get("fix_role")
            and not finding.get("waived")
        ):
            role = str(finding["fix_role"])
            items.append(
                {
                    "check": check_id,
                    "category": str(finding.get("category")),
                    "severity": str(finding.get("severity", "")),
                    "status": str(finding.get("status")),
                    "role": role,
                    "tag": str(finding.get("fix_tag") or role),
                }
            )
    return items


def request_event(items: list[dict[str, str]], trigger_seq: int, time: str) -> dict[str, Any]:
    """The remediation event of a REMEDIATION_REQUESTED entry."""
    return {
        "event": REQUESTED,
        "time": time,
        "checks": [item["check"] for item in items],
        "tags": list(dict.fromkeys(item["tag"] for item in items)),
        "items": items,
        "drift_entry": trigger_seq,
    }


# ----- pairing requests with answers ------------------------------------------------------------
@dataclass
class Requests:
    """Requests (by seq) and their answers, as the chain holds them."""

    requests: dict[int, dict[str, Any]] = field(default_factory=dict)
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def open(self) -> list[int]:
        return sorted(seq for seq in self.requests if seq not in self.answers)

    def held_checks(self, baseline_digest: str | None) -> set[str]:
        """Checks whose latest answered request, under this baseline, ended in a holding answer."""
        latest: dict[str, str] = {}
        for seq in sorted(self.answers):
            request = self.requests.get(seq)
            if request is None or request["baseline_digest"] != baseline_digest:
                continue
            for check in request["checks"]:
                latest[check] = self.answers[seq]["event"]
        return {check for check, event in latest.items() if event in HOLDING}

    def to_dict(self) -> dict[str, Any]:
        return {
            "open": [{"seq": seq, **self.requests[seq]} for seq in self.open],
            "answered": [{"request": seq, **answer} for seq, answer in sorted(self.answers.items())],
            "problems": list(self.problems),
        }


def _request_seq(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def pair(statements: Iterable[Mapping[str, Any]]) -> Requests:
    """Requests and answers of a chain's statements, in chain order. An answer to an unknown request,
    or a second answer to one request, is a problem (the agent refuses to write either)."""
    found = Requests()
    for stmt in statements:
        predicate = stmt.get("predicate") if isinstance(stmt, Mapping) else None
        if not isinstance(predicate, Mapping) or not isinstance(predicate.get("remediation"), Mapping):
            continue
        event = predicate["remediation"]
        chain = predicate.get("chain") if isinstance(predicate.get("chain"), Mapping) else {}
        seq = chain.get("seq")
        name = str(event.get("event", ""))
        if name == REQUESTED and isinstance(seq, int):
            found.requests[seq] = {
                "checks": [str(c) for c in event.get("checks") or []],
                "tags": [str(t) for t in event.get("tags") or []],
                "items": list(event.get("items") or []),
                "time": chain.get("time"),
                "baseline_digest": chain.get("baseline_digest"),
            }
            continue
        answered = _request_seq(event.get("request"))
        if name not in ANSWERS or answered is None:
            continue
        if answered not in found.requests:
            found.problems.append(f"entry {seq}: answers request {answered}, which the chain does not hold")
        elif answered in found.answers:
            first = found.answers[answered]["seq"]
            found.problems.append(f"entry {seq}: answers request {answered} again (entry {first} answered it)")
        else:
            found.answers[answered] = {"seq": seq, "event": name, "time": chain.get("time"), "detail": dict(event)}
    return found


def statements_of(data: bytes) -> list[dict[str, Any]]:
    """The statements of chain lines, decoded but NOT verified (the agent reads its own chain; the
    controller pairs entries it verified first). Anchors and unreadable lines are skipped."""
    out = []
    for raw in data.split(b"\n"):
        try:
            envelope = json.loads(raw)
            if envelope.get("payloadType") != PAYLOAD_TYPE:
                continue
            stmt = json.loads(base64.b64decode(envelope["payload"], validate=True))
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            continue
        if isinstance(stmt, dict):
            out.append(stmt)
    return out


def check_answer(state: Requests, event: Mapping[str, Any]) -> None:
    """Raise AnswerRefused when ``event`` answers a request that is not open."""
    if str(event.get("event", "")) not in ANSWERS or event.get("request") is None:
        return
    seq = _request_seq(event.get("request"))
    if seq is None:
        raise AnswerRefused(f"request {event.get('request')!r} is not an entry number")
    if seq not in state.requests:
        raise AnswerRefused(f"request {seq} is not in the chain")
    if seq in state.answers:
        raise AnswerRefused(f"request {seq} was already answered by entry {state.answers[seq]['seq']}")
