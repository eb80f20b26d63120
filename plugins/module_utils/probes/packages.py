"""Installed Debian packages (one dpkg-query for the whole audit)."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.system import Package, parse_dpkg
from ansible_collections.rampart.hardening.plugins.module_utils.probes import parsed, run_checked

DPKG_FORMAT = "-f=${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"


def packages(facts: Facts) -> dict[str, Package] | None:
    """{name: Package}, or None on a host without dpkg."""

    def probe() -> dict[str, Package] | None:
        out = run_checked(facts, ("dpkg-query", "-W", DPKG_FORMAT))
        return None if out is None else parsed(parse_dpkg, out.stdout, "dpkg-query output")

    return facts.cached("dpkg", probe)


def installed(facts: Facts, name: str) -> bool:
    package = (packages(facts) or {}).get(name)
    return package is not None and package.installed
