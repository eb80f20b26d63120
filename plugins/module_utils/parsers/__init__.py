"""Pure parsers of the text and JSON that audit probes collect (no I/O here).

Every parser raises :class:`ParseError` with a message naming what was wrong, so a probe
can turn garbage into a clear ``error`` result instead of a crash.
"""

from __future__ import annotations


class ParseError(ValueError):
    """The input is not what the parser expects (truncated, garbage, wrong tool output)."""
