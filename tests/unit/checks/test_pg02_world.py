"""PG-02: a remote rule open to the world fails unless the intent declares and accepts it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from check_helpers import assert_status, lab_commands, privileges_argv, run
from test_postgresql import CLEAN_PRIVILEGES, PG_FILES, hardened

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

ACCEPTED = {"PG-02": {"reason": "public read replica"}}


def rule(address: str | None, netmask: str | None, method: str = "scram-sha-256", kind: str = "hostssl") -> dict:
    return {"line": 120, "type": kind, "database": ["appdb"], "user": ["app"], "address": address,
            "netmask": netmask, "method": method, "options": None, "error": None}  # fmt: skip


def intent(source: str, accepted: dict | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "role": "postgresql",
        "hba": {"remote": [{"database": "appdb", "user": "app", "source": source, "type": "hostssl"}]},
    }
    if accepted is not None:
        doc["accepted_exceptions"] = accepted
        doc["accepted_exceptions_variable"] = "rampart_postgresql_accepted_exceptions"
    return doc


def pg02(make_facts, extra_rules: list[dict], role_intent: dict | str | None = None):
    snapshot = hardened()
    snapshot["hba"].extend(extra_rules)
    commands = lab_commands(psql=json.dumps(snapshot))
    commands[privileges_argv([d["name"] for d in snapshot["databases"]])] = CLEAN_PRIVILEGES
    facts = make_facts(commands=commands, files=PG_FILES, intent={"postgresql": role_intent} if role_intent else None)
    return run("PG-02", facts)


WORLD_SPELLINGS = [
    ("0.0.0.0", "0.0.0.0"),  # 0.0.0.0/0
    ("::", "::"),  # ::/0
    ("all", None),
    ("0.0.0.0", "128.0.0.0"),  # 0.0.0.0/1: half the Internet
    ("::ffff:0.0.0.0", "ffff:ffff:ffff:ffff:ffff:ffff::"),  # every IPv4 client, mapped
]


@pytest.mark.parametrize(("address", "netmask"), WORLD_SPELLINGS)
def test_world_open_rule_fails_without_intent(make_facts, address, netmask) -> None:
    result = pg02(make_facts, [rule(address, netmask)])
    assert_status(result, Status.FAIL)
    assert "open to every address" in result.message


@pytest.mark.parametrize(("address", "netmask"), [("10.0.0.0", "255.0.0.0"), ("2001:db8::", "ffff:ffff::")])
def test_scoped_rule_passes(make_facts, address, netmask) -> None:
    assert_status(pg02(make_facts, [rule(address, netmask)]), Status.PASS)


def test_world_open_rule_declared_but_not_accepted_fails(make_facts) -> None:
    result = pg02(make_facts, [rule("0.0.0.0", "0.0.0.0")], intent("0.0.0.0/0"))
    assert_status(result, Status.FAIL)
    assert "not accepted" in result.message


def test_declared_and_accepted_world_rule_is_an_accepted_exception_not_a_pass(make_facts) -> None:
    result = pg02(make_facts, [rule("0.0.0.0", "0.0.0.0")], intent("0.0.0.0/0", ACCEPTED))
    assert_status(result, Status.NOT_APPLICABLE)
    assert "accepted exception" in result.message
    assert "public read replica" in result.message
    assert "rampart_postgresql_accepted_exceptions" in result.message
    assert any("0.0.0.0/0" in item for item in result.evidence)


def test_acceptance_covers_only_the_declared_rule(make_facts) -> None:
    # Accepted for appdb/app from 0.0.0.0/0; a hand-added ::/0 rule is still a failure.
    result = pg02(make_facts, [rule("0.0.0.0", "0.0.0.0"), rule("::", "::")], intent("0.0.0.0/0", ACCEPTED))
    assert_status(result, Status.FAIL)
    assert "::/0" in result.message


def test_acceptance_never_hides_trust(make_facts) -> None:
    rules = [rule("0.0.0.0", "0.0.0.0", method="trust")]
    result = pg02(make_facts, rules, intent("0.0.0.0/0", ACCEPTED))
    assert_status(result, Status.FAIL)
    assert "trust" in result.message


def test_reject_rule_from_everywhere_is_fine(make_facts) -> None:
    assert_status(pg02(make_facts, [rule("0.0.0.0", "0.0.0.0", method="reject")]), Status.PASS)


@pytest.mark.parametrize(
    "broken",
    ['{"role": "postgresql", "accepted_exceptions": ', {"role": "postgresql", "accepted_exceptions": ["PG-02"]}],
    ids=["malformed-json", "list-not-mapping"],
)
def test_malformed_acceptance_never_passes(make_facts, broken) -> None:
    result = pg02(make_facts, [rule("0.0.0.0", "0.0.0.0")], broken)
    assert result.status in (Status.FAIL, Status.ERROR), result
