"""Small helpers shared by the check packs (result shaping, intent lookups)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, failed, partial, passed

MAX_EVIDENCE = 40


def clip(items: Iterable[str]) -> list[str]:
    """Evidence lists stay readable: the first MAX_EVIDENCE items and a count of the rest."""
    values = list(dict.fromkeys(items))
    if len(values) <= MAX_EVIDENCE:
        return values
    return [*values[:MAX_EVIDENCE], f"... and {len(values) - MAX_EVIDENCE} more"]


def judge(
    ok: str,
    problems: Sequence[str],
    minor: Sequence[str] = (),
    seen: Sequence[str] = (),
) -> Result:
    """fail when there are problems, partial when only minor ones, else pass.

    The message names the first problem and how many there are, evidence lists them all
    followed by what was inspected.
    """
    if problems:
        extra = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return failed(f"{problems[0]}{extra}", clip([*problems, *minor, *seen]))
    if minor:
        extra = f" (+{len(minor) - 1} more)" if len(minor) > 1 else ""
        return partial(f"{minor[0]}{extra}", clip([*minor, *seen]))
    return passed(ok, clip(seen))


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
