"""sshd facts: the effective configuration from ``sshd -T``."""

from __future__ import annotations

import glob
import os

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sshd import parse_sshd_t
from ansible_collections.rampart.hardening.plugins.module_utils.probes import parsed, run_checked
from ansible_collections.rampart.hardening.plugins.module_utils.ssh_policy import Override, includes, match_overrides

SSHD_CONFIG = "/etc/ssh/sshd_config"


def sshd(facts: Facts) -> dict[str, list[str]] | None:
    """{key: [values]} of ``sshd -T``, or None when OpenSSH server is not installed."""

    def probe() -> dict[str, list[str]] | None:
        out = run_checked(facts, ("sshd", "-T"))
        return None if out is None else parsed(parse_sshd_t, out.stdout, "sshd -T output")

    return facts.cached("sshd", probe)


def _included(facts: Facts, text: str) -> list[str]:
    """Host paths of the files an sshd config includes (relative patterns are under /etc/ssh)."""
    paths = []
    root = facts.host_path("/")
    for pattern in includes(text):
        absolute = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
        for real in sorted(glob.glob(facts.host_path(absolute))):
            paths.append(real if root in ("", "/") else "/" + os.path.relpath(real, root))
    return paths


def sshd_match_overrides(facts: Facts) -> list[Override]:
    """Settings inside Match blocks of sshd_config and the files it includes (sshd -T shows globals only)."""

    def probe() -> list[Override]:
        text = facts.read_text(SSHD_CONFIG)
        if text is None:
            return []
        found = match_overrides(text, SSHD_CONFIG)
        for path in _included(facts, text):
            included = facts.read_text(path)
            if included is not None:
                found.extend(match_overrides(included, path))
        return found

    return facts.cached("sshd_match_overrides", probe)
