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
import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils import drift as dr
from ansible_collections.rampart.hardening.plugins.module_utils.evidence import PAYLOAD_TYPE, write_atomic
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
    (``check_regressed``), is not waived and names the role that fixes it; then each drifted subject
    of an enforce category that a role's tag re-renders (a hand-edited managed file, a changed
    ruleset), whether or not a check fails on it. ``held`` checks and subjects are left out."""
    categories = enforced(modes)
    if not categories:
        return []
    drift_items = list(drift_items or ())
    return _check_items(report, drift_items, categories, held) + _drift_targets(drift_items, categories, held)


def _drift_targets(
    drift_items: Iterable[Mapping[str, Any]], categories: frozenset[str], held: Iterable[str]
) -> list[dict[str, str]]:
    skip = set(held)
    items = []
    for item in drift_items:
        target = dr.fix_target(item)
        subject = str(item.get("key"))
        if target is None or item.get("category") not in categories or subject in skip:
            continue
        role, tag = target
        items.append(
            {
                "drift": str(item.get("kind")),
                "subject": subject,
                "digest": str(item.get("after")),
                "category": str(item.get("category")),
                "role": role,
                "tag": tag,
            }
        )
    return items


def _check_items(
    report: Mapping[str, Any],
    drift_items: Iterable[Mapping[str, Any]],
    categories: frozenset[str],
    held: Iterable[str],
) -> list[dict[str, str]]:
    regressed = {str(item.get("key")) for item in drift_items if item.get("kind") == "check_regressed"}
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
        "checks": [item["check"] for item in items if "check" in item],
        "drift": [item["subject"] for item in items if "subject" in item],
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
    # Per drift entry: (seq, baseline digest, {drifted subject: its digest then}).
    observed: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)

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

    def held_drift(self, baseline_digest: str | None) -> set[str]:
        """Drifted subjects whose latest request, under this baseline, was answered (not refused) and
        that every drift entry since the answer still shows with the same digest: the repair did not
        undo them (or rolled back), so asking again would repeat it every cycle. A subject that came
        back clean, or changed again, is asked for again."""
        latest: dict[str, tuple[int, str]] = {}
        for seq in sorted(self.answers):
            request = self.requests.get(seq)
            if request is None or request["baseline_digest"] != baseline_digest:
                continue
            answer = self.answers[seq]
            for subject, digest in request["drift_digests"].items():
                latest[subject] = (answer["seq"], digest) if answer["event"] != "refused" else (-1, "")
        held = set()
        for subject, (answered_at, digest) in latest.items():
            since = [seen for seq, base, seen in self.observed if seq > answered_at and base == baseline_digest]
            if answered_at >= 0 and since and all(seen.get(subject) == digest for seen in since):
                held.add(subject)
        return held

    def forget_unneeded_observations(self) -> None:
        """Drop the drift entries no held_drift() can look at: those before the latest answer of
        every drifted subject (an answer still to come is later than every entry read so far)."""
        latest: dict[str, int] = {}
        for seq in sorted(self.answers):
            for subject in (self.requests.get(seq) or {}).get("drift_digests", {}):
                latest[subject] = self.answers[seq]["seq"]
        keep_after = min(latest.values(), default=max((seq for seq, _b, _s in self.observed), default=0))
        self.observed = [entry for entry in self.observed if entry[0] > keep_after]

    def held(self, baseline_digest: str | None) -> set[str]:
        return self.held_checks(baseline_digest) | self.held_drift(baseline_digest)

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


def pair(statements: Iterable[Mapping[str, Any]], found: Requests | None = None) -> Requests:
    """Requests and answers of a chain's statements, in chain order (added to ``found``: what the
    statements before these held). An answer to an unknown request, or a second answer to one
    request, is a problem (the agent refuses to write either)."""
    found = found if found is not None else Requests()
    for stmt in statements:
        predicate = stmt.get("predicate") if isinstance(stmt, Mapping) else None
        if isinstance(predicate, Mapping) and isinstance(predicate.get("drift"), list):
            _observe(found, predicate)
        if not isinstance(predicate, Mapping) or not isinstance(predicate.get("remediation"), Mapping):
            continue
        event = predicate["remediation"]
        chain = predicate.get("chain") if isinstance(predicate.get("chain"), Mapping) else {}
        seq = chain.get("seq")
        name = str(event.get("event", ""))
        if name == REQUESTED and isinstance(seq, int):
            items = [item for item in event.get("items") or [] if isinstance(item, Mapping)]
            found.requests[seq] = {
                "checks": [str(c) for c in event.get("checks") or []],
                "drift": [str(d) for d in event.get("drift") or []],
                "drift_digests": {str(i["subject"]): str(i.get("digest")) for i in items if "subject" in i},
                "tags": [str(t) for t in event.get("tags") or []],
                "items": items,
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


def _observe(found: Requests, predicate: Mapping[str, Any]) -> None:
    chain = predicate.get("chain") if isinstance(predicate.get("chain"), Mapping) else {}
    if not isinstance(chain.get("seq"), int):
        return
    seen = {
        str(item.get("key")): str(item.get("after"))
        for item in predicate["drift"]
        if isinstance(item, Mapping) and dr.fix_target(item) is not None
    }
    found.observed.append((chain["seq"], chain.get("baseline_digest"), seen))


# ----- reading the chain incrementally ---------------------------------------------------------
# The agent pairs requests on every run with drift and on every answer; the chain holds up to the
# retention's worth of entries (90 days: about 8,640, tens of MiB). It keeps what it paired so far
# in a cache beside the chain, with the position and digest of the last line it read, and reads only
# what follows. When that line is no longer where the cache says (the chain was pruned, rewritten
# or replaced), it reads the whole chain again. bench/self_heal_chain.sh measures both.
CACHE_FORMAT = "rampart-requests/1"


def _state_to_json(state: Requests) -> dict[str, Any]:
    return {
        "requests": {str(seq): request for seq, request in state.requests.items()},
        "answers": {str(seq): answer for seq, answer in state.answers.items()},
        "problems": list(state.problems),
        "observed": [[seq, base, seen] for seq, base, seen in state.observed],
    }


def _state_from_json(data: Mapping[str, Any]) -> Requests:
    return Requests(
        requests={int(seq): dict(request) for seq, request in data["requests"].items()},
        answers={int(seq): dict(answer) for seq, answer in data["answers"].items()},
        problems=[str(problem) for problem in data["problems"]],
        observed=[(int(seq), base, dict(seen)) for seq, base, seen in data["observed"]],
    )


def _load_cache(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            cache = json.loads(handle.read())
        return cache if isinstance(cache, dict) and cache.get("format") == CACHE_FORMAT else None
    except (OSError, ValueError):
        return None


def _resume_point(handle: Any, cache: Mapping[str, Any] | None) -> tuple[int, Requests]:
    """Where to continue reading, and what the chain held up to there (from the start when the
    cached last line is not where the cache says)."""
    if cache is None:
        return 0, Requests()
    try:
        start, end = int(cache["line_start"]), int(cache["line_end"])
        handle.seek(start)
        if end > start and hashlib.sha256(handle.read(end - start)).hexdigest() == cache["line_digest"]:
            return end, _state_from_json(cache["state"])
    except (KeyError, TypeError, ValueError, OSError):
        pass
    return 0, Requests()


def read_requests(chain_path: str, cache_path: str | None = None) -> Requests:
    """``pair(statements_of(<the chain>))``, reading only what follows the cached position. A cache
    that cannot be read or written only costs a whole read; it never changes the answer."""
    try:
        handle = open(chain_path, "rb")  # noqa: SIM115 (closed below; the read position is used twice)
    except FileNotFoundError:
        return Requests()
    with handle:
        start, state = _resume_point(handle, _load_cache(cache_path) if cache_path else None)
        handle.seek(start)
        rest = handle.read()
    pair(statements_of(rest), state)
    state.forget_unneeded_observations()
    last_end = rest.rfind(b"\n") + 1  # only complete lines: a torn tail is read again next time
    if cache_path and last_end > 0:
        line_start = rest.rfind(b"\n", 0, last_end - 1) + 1
        cache = {
            "format": CACHE_FORMAT,
            "line_start": start + line_start,
            "line_end": start + last_end,
            "line_digest": hashlib.sha256(rest[line_start:last_end]).hexdigest(),
            "state": _state_to_json(state),
        }
        _save_cache(cache_path, cache)
    return state


def _save_cache(path: str, cache: Mapping[str, Any]) -> None:
    try:
        write_atomic(path, json.dumps(cache, separators=(",", ":")).encode("utf-8"))
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(f"{path}.tmp-{os.getpid()}")  # write_atomic's temporary file, if it got that far


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
