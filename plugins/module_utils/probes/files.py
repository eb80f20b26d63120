"""File permission helpers shared by the checks (through Facts.stat only)."""

from __future__ import annotations

from collections.abc import Iterable

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, FileStat


def describe(st: FileStat) -> str:
    kind = "dir " if st.is_dir else ""
    return f"{kind}{st.path} {st.mode:04o} {st.owner}:{st.group}"


def too_open(st: FileStat, max_mode: int) -> bool:
    """True when ``st`` grants any permission bit outside ``max_mode``."""
    return bool(st.mode & ~max_mode & 0o7777)


def mode_findings(
    facts: Facts,
    paths: Iterable[str],
    max_mode: int,
    owners: Iterable[str] | None = None,
) -> tuple[list[str], list[str]]:
    """(problems, seen) for files that must be at most ``max_mode`` and owned by ``owners``."""
    allowed = set(owners) if owners is not None else None
    problems: list[str] = []
    seen: list[str] = []
    for path in dict.fromkeys(paths):
        st = facts.stat(path)
        if st is None:
            continue
        seen.append(describe(st))
        if too_open(st, max_mode):
            problems.append(f"{describe(st)}: more open than {max_mode:04o}")
        elif allowed is not None and st.owner not in allowed:
            problems.append(f"{describe(st)}: owner {st.owner} not in {', '.join(sorted(allowed))}")
    return problems, seen


def glob_all(facts: Facts, patterns: Iterable[str]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        found.extend(facts.glob(pattern))
    return list(dict.fromkeys(found))
