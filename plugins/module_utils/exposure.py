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


def accepted_exceptions(intent: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """The ``accepted_exceptions`` of an intent, keyed by check id (malformed entries dropped)."""
    raw = (intent or {}).get("accepted_exceptions") or {}
    if not isinstance(raw, Mapping):
        return {}
    variable = str((intent or {}).get("accepted_exceptions_variable") or "accepted_exceptions")
    result = {}
    for check_id, value in raw.items():
        reason = value.get("reason") if isinstance(value, Mapping) else None
        if isinstance(reason, str) and reason.strip():
            result[str(check_id)] = {"reason": reason.strip(), "variable": variable}
    return result


def accepted_result(
    check_id: str, exception: Mapping[str, str], accepted: Sequence[str], seen: Sequence[str]
) -> Result:
    """``not_applicable`` naming the accepted deviation and its reason (never a pass)."""
    variable = exception.get("variable") or "accepted_exceptions"
    message = f"accepted exception ({variable}[{check_id}]): {exception['reason']}"
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
