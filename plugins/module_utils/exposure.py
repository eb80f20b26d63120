"""Shared judgement of "open to the world" and of accepted exceptions declared by the roles.

One implementation for both sides of the contract: the roles' validation (through the Jinja
tests in ``plugins/test/validate.py``) and the audit's checks import these functions, so a
role never accepts a source its own audit would fail, in any spelling.

Accepted exceptions: a role variable ``rampart_<role>_accepted_exceptions`` maps a check id to
``{reason: "..."}``; the role validates it and copies it into its intent file under
``accepted_exceptions``. A check that finds only the deviation the intent accepted reports
``not_applicable`` with the reason (like a waiver), never ``pass``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, Status

# Words that mean "any client address" in pg_hba.conf, nginx allow, nft and Redis bind.
WORLD_WORDS = frozenset({"all", "any", "*", "0/0", "::/0"})
# Wildcard bind addresses: listening on every interface of the host.
WILDCARD_BINDS = frozenset({"*", "0.0.0.0", "::", "[::]", "::0", "0:0:0:0:0:0:0:0", "-::*", "*:*"})
_MAPPED_V4 = ipaddress.ip_network("::ffff:0:0/96")


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    text = value.strip().strip("[]")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def world_open(value: Any) -> bool:
    """True when a source admits (at least half of) every address of its family.

    Catches every spelling: ``all``, ``0.0.0.0/0``, ``::/0``, ``0.0.0.0/1`` (half the
    Internet), ``::ffff:0:0/96`` (every IPv4 address, mapped), ``0/0``.
    """
    if not isinstance(value, str):
        return False
    text = value.strip().lower()
    if text in WORLD_WORDS:
        return True
    network = _network(text)
    if network is None:
        return False
    if network.prefixlen <= 1:
        return True
    if network.version != 6:
        return False
    # IPv4-mapped IPv6: ::ffff:0:0/96 (or a supernet) admits every IPv4 client, /97 half of them.
    return network.supernet_of(_MAPPED_V4) or (_MAPPED_V4.supernet_of(network) and network.prefixlen <= 97)


def wildcard_bind(value: Any) -> bool:
    """True for a bind/listen address meaning every interface (``*``, ``0.0.0.0``, ``::``...)."""
    if not isinstance(value, str):
        return False
    text = value.strip().lower()
    if not text:
        return False
    if text in WILDCARD_BINDS:
        return True
    text = text.removeprefix("-").removesuffix("*")  # Redis: "-::*" binds :: if it exists
    if text in ("", "::", "[::]"):
        return True
    try:
        return ipaddress.ip_address(text.strip("[]")).is_unspecified
    except ValueError:
        return False


def exposed_bind(value: Any) -> bool:
    """True for a listen address reachable from the Internet: a wildcard or a public (global) IP."""
    if wildcard_bind(value):
        return True
    try:
        address = ipaddress.ip_address(str(value).strip().lstrip("-").strip("[]"))
    except ValueError:
        return False
    return not (address.is_loopback or address.is_private or address.is_link_local)


def nft_world_operand(value: Any, sets: Mapping[str, Sequence[Any]] | None = None) -> bool:
    """True when an ``nft -j`` saddr operand admits every address (see :func:`world_open`).

    Every spelling nft prints: ``{"prefix": {"addr": "0.0.0.0", "len": 0}}``, ``"::/0"``, a
    ``{"range": [low, high]}`` spanning half an address family or more, an anonymous
    ``{"set": [...]}`` or a named ``"@set"`` (resolved through ``sets``) holding one of these,
    and set elements wrapped as ``{"elem": {"val": ...}}``.
    """
    if isinstance(value, str):
        if value.startswith("@"):
            return any(nft_world_operand(item, sets) for item in (sets or {}).get(value[1:], ()))
        return world_open(value)
    if isinstance(value, list):
        return any(nft_world_operand(item, sets) for item in value)
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    return _world_expression(*next(iter(value.items())), sets)


def _world_expression(key: str, body: Any, sets: Mapping[str, Sequence[Any]] | None) -> bool:
    if key == "prefix" and isinstance(body, Mapping):
        return world_open(f"{body.get('addr')}/{body.get('len')}")
    if key == "set":
        return nft_world_operand(body if isinstance(body, list) else [body], sets)
    if key == "elem" and isinstance(body, Mapping):
        return nft_world_operand(body.get("val"), sets)
    return key == "range" and isinstance(body, list) and len(body) == 2 and _wide_range(str(body[0]), str(body[1]))


def _wide_range(low: str, high: str) -> bool:
    try:
        first, last = ipaddress.ip_address(low.strip("[]")), ipaddress.ip_address(high.strip("[]"))
    except ValueError:
        return False
    if first.version != last.version or last < first:
        return False
    return any(world_open(str(net)) for net in ipaddress.summarize_address_range(first, last))  # type: ignore[arg-type]


def _exception_entries(intent: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Every well-formed accepted exception of an intent as {check, target, reason, variable}.

    Two forms: the per-object list ``[{check: DOS-02, target: "class:downloads", reason}]``
    (target "" when left out) and the deprecated per-check mapping ``{DOS-02: {reason}}``,
    which accepts the check for every object of the host (target "*").
    """
    raw = (intent or {}).get("accepted_exceptions") or {}
    variable = str((intent or {}).get("accepted_exceptions_variable") or "accepted_exceptions")
    if isinstance(raw, Mapping):
        items = [{"check": key, "target": "*", **value} for key, value in raw.items() if isinstance(value, Mapping)]
    elif isinstance(raw, list):
        items = [item for item in raw if isinstance(item, Mapping)]
    else:
        items = []
    entries = []
    for item in items:
        reason, check_id, target = item.get("reason"), item.get("check"), item.get("target") or "*"
        if isinstance(reason, str) and reason.strip() and isinstance(check_id, str) and isinstance(target, str):
            entries.append({"check": check_id, "target": target, "reason": reason.strip(), "variable": variable})
    return entries


def accepted_exceptions(intent: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """Host-wide accepted exceptions (the per-check form), keyed by check id (malformed ones dropped)."""
    return {e["check"]: e for e in _exception_entries(intent) if e["target"] == "*"}


def accepted_for(intent: Mapping[str, Any] | None, check_id: str, target: str | None) -> dict[str, str] | None:
    """The exception that accepts ``check_id`` on ``target`` (an entry naming it, else a host-wide one)."""
    entries = [e for e in _exception_entries(intent) if e["check"] == check_id]
    named = [e for e in entries if target is not None and e["target"] == target]
    return (named or [e for e in entries if e["target"] == "*"] or [None])[0]


def split_accepted(
    intent: Mapping[str, Any] | None, check_id: str, problems: Sequence[tuple[str | None, str]]
) -> tuple[list[str], list[tuple[dict[str, str], str]]]:
    """Problems (target, text) -> (those no exception accepts, [(exception, text)] accepted ones)."""
    failing, accepted = [], []
    for target, text in problems:
        exception = accepted_for(intent, check_id, target)
        if exception is None:
            failing.append(text)
        else:
            accepted.append((exception, text))
    return failing, accepted


def merged_exception(accepted: Sequence[tuple[Mapping[str, str], str]]) -> dict[str, str]:
    """One exception naming every object and reason of ``accepted`` (for :func:`accepted_result`)."""
    exceptions = list({(e["target"], e["reason"]): e for e, _text in accepted}.values())
    targets = [e["target"] for e in exceptions if e["target"] != "*"]
    return {
        "variable": exceptions[0]["variable"],
        "target": ", ".join(dict.fromkeys(targets)),
        "reason": "; ".join(dict.fromkeys(e["reason"] for e in exceptions)),
    }


def accepted_result(
    check_id: str, exception: Mapping[str, str], accepted: Sequence[str], seen: Sequence[str]
) -> Result:
    """``not_applicable`` naming the accepted deviation and its reason (never a pass)."""
    variable = exception.get("variable") or "accepted_exceptions"
    on = f" on {exception['target']}" if exception.get("target") not in (None, "", "*") else ""
    message = f"accepted exception ({variable}[{check_id}]{on}): {exception['reason']}"
    evidence = [f"accepted (would fail): {item}" for item in accepted] + list(seen)
    return Result(Status.NOT_APPLICABLE, message, evidence)


def accept_declared(intent: Mapping[str, Any] | None, check_id: str, result: Result) -> Result:
    """A failed/partial ``result`` the role's intent accepts becomes an accepted exception.

    Used by checks whose only way to fail through a role's input is the deviation the role
    refuses unless ``accepted_exceptions`` names the check (nginx: DOS-01, DOS-02, DOS-03, HDR-01).
    """
    if result.status not in (Status.FAIL, Status.PARTIAL):
        return result
    exception = accepted_exceptions(intent).get(check_id)
    if exception is None:
        return result
    accepted = [f"{result.status.value}: {result.message}"]
    return accepted_result(check_id, exception, accepted, result.evidence)
