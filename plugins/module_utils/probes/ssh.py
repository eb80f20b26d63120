"""sshd facts: the effective configuration from ``sshd -T``."""

from __future__ import annotations

import shlex

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sshd import parse_sshd_t
from ansible_collections.rampart.hardening.plugins.module_utils.probes import parsed, run_checked
from ansible_collections.rampart.hardening.plugins.module_utils.ssh_policy import Override, scoped_settings

SSHD_CONFIG = "/etc/ssh/sshd_config"
MAX_INCLUDE_DEPTH = 16  # servconf.c SERVCONF_MAX_DEPTH


def sshd(facts: Facts) -> dict[str, list[str]] | None:
    """{key: [values]} of ``sshd -T``, or None when OpenSSH server is not installed."""

    def probe() -> dict[str, list[str]] | None:
        out = run_checked(facts, ("sshd", "-T"))
        return None if out is None else parsed(parse_sshd_t, out.stdout, "sshd -T output")

    return facts.cached("sshd", probe)


def _include_paths(facts: Facts, value: str) -> list[str]:
    """Host paths an ``Include`` value names: globs in lexical order, relative ones under /etc/ssh."""
    try:
        patterns = shlex.split(value)
    except ValueError:  # an unbalanced quote: sshd refuses the line too; read the words as they are
        patterns = value.split()
    paths: list[str] = []
    for pattern in patterns:
        paths += facts.glob(pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}")
    return paths


def _scope(outer: str | None, inner: str | None) -> str | None:
    """Criteria of a setting in a file included under ``outer``: both Match conditions must hold."""
    if outer is None or inner is None:
        return outer or inner
    return f"{outer}; {inner}"


def _overrides(facts: Facts, path: str, text: str, outer: str | None, stack: tuple[str, ...]) -> list[Override]:
    """Match-scoped settings of one file and of everything it includes (recursively: an Include
    inside a Match block makes the whole included file conditional on that block)."""
    found: list[Override] = []
    for criteria, key, value in scoped_settings(text):
        scope = _scope(outer, criteria)
        if key != "include":
            if scope is not None:
                found.append(Override(path, scope, key, value))
            continue
        if len(stack) >= MAX_INCLUDE_DEPTH:
            continue  # sshd itself refuses to start past this depth
        for included in _include_paths(facts, value):
            content = None if included in stack else facts.read_text(included)  # an Include loop: sshd refuses it
            if content is not None:
                found += _overrides(facts, included, content, scope, (*stack, included))
    return found


def sshd_match_overrides(facts: Facts) -> list[Override]:
    """Settings inside Match blocks of sshd_config and the files it includes, at any depth, and
    every setting of a file included from inside a Match block (sshd -T shows globals only)."""

    def probe() -> list[Override]:
        text = facts.read_text(SSHD_CONFIG)
        return [] if text is None else _overrides(facts, SSHD_CONFIG, text, None, (SSHD_CONFIG,))

    return facts.cached("sshd_match_overrides", probe)
