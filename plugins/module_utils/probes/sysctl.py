"""Kernel parameters: one ``sysctl -a``, or /proc/sys reads when sysctl is missing."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sysctl import parse_sysctl
from ansible_collections.rampart.hardening.plugins.module_utils.probes import MISSING, parsed


def sysctls(facts: Facts) -> dict[str, str]:
    """All readable kernel parameters (sysctl -a)."""

    def probe() -> dict[str, str]:
        # sysctl -a exits non-zero when a few keys are unreadable; its stdout is still complete.
        out = facts.run(("sysctl", "-a"))
        if out.rc == MISSING or not out.stdout.strip():
            return {}
        return parsed(parse_sysctl, out.stdout, "sysctl -a output")

    return facts.cached("sysctl", probe)


def value(facts: Facts, key: str) -> str | None:
    """One parameter: from sysctl -a, else read /proc/sys/<key with dots as slashes>."""
    known = sysctls(facts)
    if key in known:
        return known[key]
    text = facts.read_text("/proc/sys/" + key.replace(".", "/"))
    return text.strip() if text is not None else None
