"""Kernel parameters: one ``sysctl -a``, or /proc/sys reads when sysctl is missing."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sysctl import (
    parse_sysctl_lenient,
    unreadable_keys,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import MISSING, lenient


def sysctls(facts: Facts) -> dict[str, str]:
    """All readable kernel parameters (sysctl -a); lines that cannot be read (``sysctl: permission
    denied on key 'x'``, garbage) are kept in ``facts.unparsed("sysctl")``, by key when named."""

    def probe() -> dict[str, str]:
        # sysctl -a exits non-zero when a few keys are unreadable; its stdout is still complete.
        out = facts.run(("sysctl", "-a"))
        if out.rc == MISSING or not out.stdout.strip():
            return {}
        values = lenient(facts, "sysctl", parse_sysctl_lenient, out.stdout, "sysctl -a output")
        facts.note_unparsed("sysctl", [*facts.unparsed("sysctl"), *unreadable_keys(out.stderr)])
        return values

    return facts.cached("sysctl", probe)


def value(facts: Facts, key: str) -> str | None:
    """One parameter: from sysctl -a, else read /proc/sys/<key with dots as slashes>.

    None means the kernel has no such parameter; when a skipped line of ``sysctl -a`` could
    have been this key and /proc/sys cannot tell either, ProbeError names that line.
    """
    known = sysctls(facts)
    if key in known:
        return known[key]
    text = facts.read_text("/proc/sys/" + key.replace(".", "/"))
    if text is not None:
        return text.strip()
    doubt = [line for line in facts.unparsed("sysctl") if line.key in (key, None)]
    if doubt:
        raise ProbeError(f"cannot read {key}: {doubt[0]}")
    return None
