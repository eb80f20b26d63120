"""Small helpers shared by the check packs (result shaping, intent lookups)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import (
    Result,
    Status,
    error,
    failed,
    partial,
    passed,
)

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


def unless_hidden(result: Result, doubts: Sequence[Any], absent_too: bool = False) -> Result:
    """A verdict judged on the good records while some lines (parsers.Unparsed) could not be read.

    A fail stands (the good records are bad enough) and lists the unread lines; a pass or a
    partial (and with ``absent_too`` a not_applicable, when "absent" was read from the same
    output) could be hiding the finding in those lines, so it becomes ``error`` naming the
    first one: never a pass on incomplete data.
    """
    if not doubts or result.status is Status.ERROR:
        return result
    unread = [f"unread: {line}" for line in doubts]
    if result.status is Status.FAIL:
        return failed(result.message, clip([*result.evidence, *unread]))
    if result.status is Status.NOT_APPLICABLE and not absent_too:
        return result
    extra = f" (+{len(doubts) - 1} more)" if len(doubts) > 1 else ""
    message = f"cannot judge on incomplete data: {doubts[0]}{extra}"
    return error(message, clip([*unread, result.message, *result.evidence]))


Check = Callable[[Facts], Result]


def doubted_by(
    *keys: str, hides: Callable[[Any], bool] | None = None, absent_too: bool = False
) -> Callable[[Check], Check]:
    """Decorate a check whose probes (``keys``: "ss", "ps", "nft") degrade per line: the lines they
    skipped, when this check consulted them and ``hides(line)`` says they could hide what it looks
    for, turn a better-than-fail verdict into ``error`` (see :func:`unless_hidden`)."""

    def wrap(fn: Check) -> Check:
        @functools.wraps(fn)
        def judged(facts: Facts) -> Result:
            mark = len(facts.consulted)
            result = fn(facts)
            used = set(facts.consulted[mark:])
            doubts = [d for k in keys if k in used for d in facts.unparsed(k) if hides is None or hides(d)]
            return unless_hidden(result, doubts, absent_too)

        return judged

    return wrap
