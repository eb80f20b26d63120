"""Local accounts: /etc/passwd and /etc/shadow."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.system import (
    Account,
    parse_passwd,
    parse_shadow,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import parsed


def accounts(facts: Facts) -> dict[str, Account]:
    def probe() -> dict[str, Account]:
        text = facts.read_text("/etc/passwd")
        if text is None:
            raise ProbeError("/etc/passwd is missing")
        return parsed(parse_passwd, text, "/etc/passwd")

    return facts.cached("passwd", probe)


def shadow(facts: Facts) -> dict[str, str] | None:
    """{user: password field}, or None when /etc/shadow does not exist."""

    def probe() -> dict[str, str] | None:
        text = facts.read_text("/etc/shadow")
        return None if text is None else parsed(parse_shadow, text, "/etc/shadow")

    return facts.cached("shadow", probe)


def name_of_uid(facts: Facts, uid: int) -> str:
    return next((a.name for a in accounts(facts).values() if a.uid == uid), str(uid))
