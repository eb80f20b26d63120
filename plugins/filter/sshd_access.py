"""Would this sshd configuration still let the management user in? (the ssh role's lock-out guard)

The ssh role renders the new configuration into a staging directory and asks
``sshd -T -f <staged> -C user=<u>,addr=<a>,host=<h>`` for the settings that would apply to
the management user's next login, Match blocks included. This filter reads that output and
lists every reason the login would be refused; the role stops before any change when the
list is not empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sshd import first, parse_sshd_t

DOCUMENTATION = r"""
name: sshd_access
short_description: Reasons an sshd -T -C configuration would refuse a key login
description:
  - C(sshd_login_problems) takes the text of C(sshd -T -C user=...,addr=...,host=...), the user name and the
    user's groups, and returns a list of reasons a public-key login of that user would be refused
    (empty when it would be accepted). Patterns in Allow/Deny Users/Groups are matched like sshd does
    (C(*) and C(?), C(!) negation).
author: Rampart maintainers
"""


def _values(config: dict[str, list[str]], key: str) -> list[str]:
    """Every space-separated value of a key (sshd -T prints list keywords one per line or together)."""
    return [word for line in config.get(key, []) for word in line.split()]


def _matches(name: str, patterns: Iterable[str]) -> bool:
    """sshd pattern-list semantics: a negated match wins, otherwise any positive match."""
    hit = False
    for pattern in patterns:
        if pattern.startswith("!"):
            if fnmatchcase(name, pattern[1:]):
                return False
        elif fnmatchcase(name, pattern):
            hit = True
    return hit


def _user_part(entry: str) -> str:
    return entry.split("@", 1)[0]


def _key_only_list(methods: str) -> bool:
    """True when one AuthenticationMethods list can be satisfied with a public key alone."""
    return all(step.split(":", 1)[0] == "publickey" for step in methods.split(","))


def _auth_problems(config: dict[str, list[str]]) -> list[str]:
    problems = []
    if first(config, "pubkeyauthentication", "yes") != "yes":
        problems.append(f"PubkeyAuthentication is {first(config, 'pubkeyauthentication')}")
    methods = _values(config, "authenticationmethods") or ["any"]
    if "any" not in methods and not any(_key_only_list(m) for m in methods):
        problems.append(f"AuthenticationMethods {' '.join(methods)} has no list a public key alone satisfies")
    if first(config, "maxauthtries", "6") in ("0",):
        problems.append("MaxAuthTries is 0")
    return problems


def _account_problems(config: dict[str, list[str]], user: str, groups: list[str]) -> list[str]:
    problems = []
    if user == "root" and first(config, "permitrootlogin", "yes") == "no":
        problems.append("PermitRootLogin no refuses root")
    deny_users = [_user_part(u) for u in _values(config, "denyusers")]
    if deny_users and _matches(user, deny_users):
        problems.append(f"DenyUsers {' '.join(deny_users)} matches {user}")
    allow_users = [_user_part(u) for u in _values(config, "allowusers")]
    if allow_users and not _matches(user, allow_users):
        problems.append(f"AllowUsers {' '.join(allow_users)} does not match {user}")
    deny_groups = _values(config, "denygroups")
    denied = [g for g in groups if deny_groups and _matches(g, deny_groups)]
    if denied:
        problems.append(f"DenyGroups {' '.join(deny_groups)} matches group {', '.join(denied)}")
    allow_groups = _values(config, "allowgroups")
    if allow_groups and not any(_matches(g, allow_groups) for g in groups):
        problems.append(f"AllowGroups {' '.join(allow_groups)} matches none of {user}'s groups ({', '.join(groups)})")
    return problems


def sshd_login_problems(text: Any, user: Any, groups: Any) -> list[str]:
    """Reasons ``sshd -T -C`` output ``text`` would refuse a key login of ``user`` (in ``groups``)."""
    if not isinstance(text, str) or not isinstance(user, str) or not user:
        raise AnsibleFilterError("sshd_login_problems expects the sshd -T text and a user name")
    group_list = [str(g) for g in (groups.split() if isinstance(groups, str) else groups or [])]
    try:
        config = parse_sshd_t(text)
    except ParseError as exc:
        raise AnsibleFilterError(f"sshd_login_problems: {exc}") from exc
    return _auth_problems(config) + _account_problems(config, user, group_list)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"sshd_login_problems": sshd_login_problems}
