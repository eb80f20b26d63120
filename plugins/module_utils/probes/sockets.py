"""Listening sockets from ``ss -Htulpn``."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sockets import Listener, parse_ss_lenient
from ansible_collections.rampart.hardening.plugins.module_utils.probes import lenient, run_checked


def listeners(facts: Facts) -> list[Listener] | None:
    """Every listening TCP/UDP socket, or None when ss (iproute2) is missing; lines ss printed that
    cannot be read are skipped and kept in ``facts.unparsed("ss")``."""

    def probe() -> list[Listener] | None:
        out = run_checked(facts, ("ss", "-Htulpn"))
        return None if out is None else lenient(facts, "ss", parse_ss_lenient, out.stdout, "ss -Htulpn output")

    return facts.cached("ss", probe)


def exposed(facts: Facts) -> list[Listener]:
    """Listeners reachable from other hosts (not bound to loopback)."""
    return [item for item in listeners(facts) or [] if not item.is_loopback]
