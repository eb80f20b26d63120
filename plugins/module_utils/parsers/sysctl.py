"""Parse ``sysctl -a`` output (``key = value`` per line)."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError


def parse_sysctl(text: str) -> dict[str, str]:
    """``sysctl -a`` stdout -> {key: value}; a line without ``=`` means this is not sysctl output."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or " " in key:
            raise ParseError(f"sysctl line {number}: expected 'key = value', got {line[:80]!r}")
        values[key] = value.strip()
    if not values:
        raise ParseError("empty sysctl output")
    return values
