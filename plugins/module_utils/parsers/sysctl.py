"""Parse ``sysctl -a`` output (``key = value`` per line)."""

from __future__ import annotations

import re
from collections.abc import Iterable
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


# A per-interface key: ``net.ipv4.conf.eth0.accept_redirects``. sysctl prints a dot inside an
# interface name as a slash (VLAN eth0.100 -> ``net.ipv4.conf.eth0/100.rp_filter``), so the
# interface part never holds a dot.
INTERFACE_KEY = re.compile(r"^net\.(?P<family>ipv[46])\.conf\.(?P<iface>[^.]+)\.(?P<param>[a-z0-9_]+)$")
NOT_INTERFACES = frozenset({"all", "default"})


def interface_names(keys: Iterable[str], family: str) -> list[str]:
    """The interfaces ``sysctl -a`` lists under ``net.<family>.conf`` (not ``all``/``default``),
    spelled as the kernel names them (``eth0/100`` in a key is interface ``eth0.100``)."""
    names = {m.group("iface") for m in map(INTERFACE_KEY.match, keys) if m and m.group("family") == family}
    return sorted(name.replace("/", ".") for name in names - NOT_INTERFACES)


def interface_key(family: str, iface: str, param: str) -> str:
    """The ``sysctl -a`` key of one interface's parameter (a dot in the name printed as a slash)."""
    return f"net.{family}.conf.{iface.replace('.', '/')}.{param}"


def parse_sysctl(text: str) -> dict[str, str]:
    """``sysctl -a`` stdout -> {key: value}; a line without ``=`` means this is not sysctl output."""
    values, unparsed = parse_sysctl_lenient(text)
    strict(unparsed)
    if not values:
        raise ParseError("empty sysctl output")
    return values
