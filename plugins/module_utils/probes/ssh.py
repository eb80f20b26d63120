"""sshd facts: the effective configuration from ``sshd -T``."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sshd import parse_sshd_t
from ansible_collections.rampart.hardening.plugins.module_utils.probes import parsed, run_checked


def sshd(facts: Facts) -> dict[str, list[str]] | None:
    """{key: [values]} of ``sshd -T``, or None when OpenSSH server is not installed."""

    def probe() -> dict[str, list[str]] | None:
        out = run_checked(facts, ("sshd", "-T"))
        return None if out is None else parsed(parse_sshd_t, out.stdout, "sshd -T output")

    return facts.cached("sshd", probe)
