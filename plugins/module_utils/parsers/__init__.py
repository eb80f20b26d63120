"""Pure parsers of the text and JSON that audit probes collect (no I/O here).

Every parser raises :class:`ParseError` with a message naming what was wrong, so a probe
can turn garbage into a clear ``error`` result instead of a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ParseError(ValueError):
    """The input is not what the parser expects (truncated, garbage, wrong tool output)."""


@dataclass(frozen=True)
class Unparsed:
    """One line (or record) a lenient parser skipped: the probe keeps the good records beside it.

    ``key`` names what the line was about when that can still be told (a unit id, a sysctl key,
    an nftables chain), so only the checks that ask about it need to doubt their answer.
    """

    source: str  # "ss -Htulpn line", "systemctl show block", "nft -j item"
    number: int
    text: str
    reason: str
    key: str | None = None
    redact: bool = False  # command lines may hold secrets: show only their first three words

    def __str__(self) -> str:
        about = f" ({self.key})" if self.key else ""
        shown = " ".join(self.text.split()[:3]) + " ..." if self.redact else self.text.strip()[:80]
        return f"{self.source} {self.number}{about}: {self.reason}: {shown!r}"


def strict(unparsed: Sequence[Unparsed]) -> None:
    """Raise on the first skipped line (the strict parsers' contract: all or nothing)."""
    if unparsed:
        raise ParseError(str(unparsed[0]))


def nothing_parsed(count: int, unparsed: Sequence[Unparsed]) -> None:
    """Not one good record but bad lines: this is not the tool's output at all, so fail whole."""
    if not count and unparsed:
        raise ParseError(f"no line could be parsed ({len(unparsed)} bad): {unparsed[0]}")
