"""Probes: gather one subject's facts once per audit (cached on Facts) and parse them.

A probe returns ``None`` when its subject is absent (no nginx, no PostgreSQL...) so the
checks can say ``not_applicable``; it raises ProbeError when the subject is present but
its facts cannot be read or parsed, which the engine reports as ``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from ansible_collections.rampart.hardening.plugins.module_utils.facts import CommandOutput, Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError, Unparsed

T = TypeVar("T")
MISSING = 127


def now() -> datetime:
    """The audit's clock (a function so tests can monkeypatch it)."""
    return datetime.now(UTC)


def first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_checked(facts: Facts, argv: Sequence[str]) -> CommandOutput | None:
    """Run ``argv``; None when the binary is missing, ProbeError when it fails."""
    out = facts.run(tuple(argv))
    if out.rc == MISSING:
        return None
    if out.rc != 0:
        detail = first_line(out.stderr) or first_line(out.stdout) or "no output"
        raise ProbeError(f"{' '.join(argv[:3])} failed (rc {out.rc}): {detail}")
    return out


def parsed(parser: Callable[..., T], text: str, what: str, *args: Any) -> T:
    """Run a parser, turning ParseError into a ProbeError that names the source."""
    try:
        return parser(text, *args)
    except ParseError as exc:
        raise ProbeError(f"cannot parse {what}: {exc}") from exc


def lenient(facts: Facts, key: str, parser: Callable[[str], tuple[T, list[Unparsed]]], text: str, what: str) -> T:
    """Run a lenient parser: keep the good records, note the skipped lines on Facts under ``key``
    (``facts.unparsed(key)``); only output with no good line at all is a ProbeError."""
    records, unparsed = parsed(parser, text, what)
    facts.note_unparsed(key, unparsed)
    return records


def intent(facts: Facts, role: str) -> dict[str, Any]:
    """The role's intent, or {} when the role did not declare one."""
    return facts.intent(role) or {}
