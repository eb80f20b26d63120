"""The effective apt configuration (one ``apt-config dump``), as apt itself merged it."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.probes import parsed, run_checked


def parse_apt_config(text: str) -> dict[str, list[str]]:
    """``apt-config dump`` -> {key: [values]}; list entries (``Key:: "v";``) collect under ``Key``."""
    values: dict[str, list[str]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        key, sep, rest = line.partition(" ")
        rest = rest.strip()
        if not sep or not key or not rest.endswith(";") or not rest.startswith('"'):
            raise ParseError(f"apt-config line {number}: expected 'Key \"value\";', got {line[:80]!r}")
        value = rest[:-1].strip()
        if len(value) < 2 or not value.endswith('"'):
            raise ParseError(f"apt-config line {number}: unterminated value {line[:80]!r}")
        values.setdefault(key.removesuffix("::"), []).append(value[1:-1])
    if not values:
        raise ParseError("empty apt-config output")
    return values


def apt_config(facts: Facts) -> dict[str, list[str]] | None:
    """{key: [values]} of the merged apt configuration, or None without apt."""

    def probe() -> dict[str, list[str]] | None:
        out = run_checked(facts, ("apt-config", "dump"))
        return None if out is None else parsed(parse_apt_config, out.stdout, "apt-config dump output")

    return facts.cached("apt-config", probe)


def setting(config: dict[str, list[str]], key: str) -> str | None:
    """The last value apt holds for a scalar ``key`` (apt keys are case-insensitive)."""
    wanted = key.lower()
    found = [v for k, vs in config.items() if k.lower() == wanted for v in vs]
    return found[-1] if found else None


def entries(config: dict[str, list[str]], key: str) -> list[str]:
    """Every value of a list ``key``."""
    wanted = key.lower()
    return [v for k, vs in config.items() if k.lower() == wanted for v in vs]
