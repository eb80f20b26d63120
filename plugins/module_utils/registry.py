"""Registry of built-in checks: the ``@check`` decorator and ``registered_checks()``.

Check packs (``plugins/module_utils/checks/*.py``) decorate plain functions
``def fn(facts: Facts) -> Result``; importing a pack registers its checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ansible_collections.rampart.hardening.plugins.module_utils.model import (
    CheckMeta,
    Result,
    Severity,
)

if TYPE_CHECKING:
    from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts

CheckFunction = Callable[["Facts"], Result]


@dataclass(frozen=True)
class RegisteredCheck:
    """A check's metadata together with the function that evaluates it."""

    meta: CheckMeta
    run: CheckFunction


_REGISTRY: dict[str, RegisteredCheck] = {}


def make_meta(  # noqa: PLR0917 - mirrors the @check signature
    id: str,
    title: str,
    category: str,
    severity: Severity | str,
    rationale: str,
    remediation: str,
    references: Iterable[str] = (),
    fix_role: str | None = None,
    fix_tag: str | None = None,
) -> CheckMeta:
    """Build a validated CheckMeta (severity may be given as its string value)."""
    try:
        sev = Severity(severity)
    except ValueError as exc:
        raise ValueError(f"check {id}: unknown severity {severity!r}") from exc
    return CheckMeta(
        id=id,
        title=title,
        category=category,
        severity=sev,
        rationale=rationale,
        remediation=remediation,
        references=tuple(references),
        fix_role=fix_role,
        fix_tag=fix_tag,
    )


def register(registered: RegisteredCheck) -> RegisteredCheck:
    """Add a check to the registry; a duplicate id is a programming error."""
    if registered.meta.id in _REGISTRY:
        raise ValueError(f"duplicate check id {registered.meta.id}")
    _REGISTRY[registered.meta.id] = registered
    return registered


def unregister(check_id: str) -> None:
    """Remove a check (used by tests that register temporary checks)."""
    _REGISTRY.pop(check_id, None)


def check(  # noqa: PLR0917 - the documented decorator signature
    id: str,
    title: str,
    category: str,
    severity: Severity | str,
    rationale: str,
    remediation: str,
    references: Iterable[str] = (),
    fix_role: str | None = None,
    fix_tag: str | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as a check with this metadata."""
    meta = make_meta(
        id,
        title,
        category,
        severity,
        rationale,
        remediation,
        references,
        fix_role,
        fix_tag,
    )

    def decorator(fn: CheckFunction) -> CheckFunction:
        register(RegisteredCheck(meta=meta, run=fn))
        return fn

    return decorator


def registered_checks() -> list[RegisteredCheck]:
    """All registered checks, sorted by id."""
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]


def get_check(check_id: str) -> RegisteredCheck | None:
    """The registered check with this id, if any."""
    return _REGISTRY.get(check_id)
