"""Parse ``sysctl -a`` output (``key = value`` per line)."""

from __future__ import annotations

import re
from dataclasses import replace

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import (
    ParseError,
    Unparsed,
    nothing_parsed,
    strict,
)

# procps: "sysctl: permission denied on key 'fs.protected_fifos'", "sysctl: reading key
# \"net.ipv6.conf.all.stable_secret\"", "sysctl: cannot stat /proc/sys/x: No such file or directory".
KEY_MESSAGE = re.compile(r"""^sysctl: (?P<reason>[^'"]*?)\s*(?:on )?key ['"](?P<key>[^'"]+)['"]""")


def _bad_line(number: int, line: str) -> Unparsed:
    message = KEY_MESSAGE.match(line.strip())
    if message:
        return Unparsed("sysctl -a line", number, line, message.group("reason") or "unreadable", message.group("key"))
    return Unparsed("sysctl -a line", number, line, "expected 'key = value'")


def parse_sysctl_lenient(text: str) -> tuple[dict[str, str], list[Unparsed]]:
    """``sysctl -a`` stdout (and stderr) -> ({key: value}, lines skipped); ``key=value`` without
    spaces is fine; ``sysctl: permission denied on key 'x'`` is a skipped line naming key x."""
    values: dict[str, str] = {}
    unparsed: list[Unparsed] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or " " in key or key.startswith("sysctl:"):
            unparsed.append(_bad_line(number, line))
            continue
        values[key] = value.strip()
    nothing_parsed(len(values), unparsed)
    return values, unparsed


def unreadable_keys(stderr: str) -> list[Unparsed]:
    """The keys ``sysctl -a`` names on stderr as unreadable (permission denied, reading key)."""
    lines = [(number, line) for number, line in enumerate(stderr.splitlines(), 1) if KEY_MESSAGE.match(line.strip())]
    return [replace(_bad_line(number, line), source="sysctl -a stderr line") for number, line in lines]


def parse_sysctl(text: str) -> dict[str, str]:
    """``sysctl -a`` stdout -> {key: value}; a line without ``=`` means this is not sysctl output."""
    values, unparsed = parse_sysctl_lenient(text)
    strict(unparsed)
    if not values:
        raise ParseError("empty sysctl output")
    return values
