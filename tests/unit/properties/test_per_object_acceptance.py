"""Per-object accepted exceptions: PG-02 ``hba:<database>/<user>/<source>``, RDS-01 ``bind:<address>``.

The role accepts a world-open hba entry (a wildcard or public Redis bind) only when an exception
names it (or the deprecated host-wide form is used); the audit reports only the named objects as
accepted exceptions and still fails every other one, even when the intent declares it.
"""

from __future__ import annotations

from typing import Any

from harness import RoleRun, named_variable
from test_agreement_postgresql import REASON, audit, intent_document, user_input

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

APP = {"database": "appdb", "user": "app", "source": "0.0.0.0/0"}
OTHER = {"database": "otherdb", "user": "other", "source": "::/0"}
APP_TARGET, OTHER_TARGET = "hba:appdb/app/0.0.0.0/0", "hba:otherdb/other/::/0"


def role_for(accepted: Any) -> RoleRun:
    return RoleRun("postgresql", user_input([APP, OTHER], ["127.0.0.1"], accepted))


def pg02(make_facts, role: RoleRun) -> Any:
    return audit(make_facts, role)["PG-02"]


def test_each_named_entry_is_accepted(make_facts) -> None:
    role = role_for([{"check": "PG-02", "target": t, **REASON} for t in (APP_TARGET, OTHER_TARGET)])
    assert role.validate() == []
    result = pg02(make_facts, role)
    assert result.status is Status.NOT_APPLICABLE, result.message
    assert REASON["reason"] in result.message
    assert APP_TARGET in result.message
    assert OTHER_TARGET in result.message


def test_an_entry_no_exception_names_is_refused_by_the_role() -> None:
    role = role_for([{"check": "PG-02", "target": APP_TARGET, **REASON}])
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables) == ("rampart_postgresql_hba[1].source", "::/0")
    assert OTHER_TARGET in refusals[0]  # the message shows the exact target to accept it


def test_the_audit_still_fails_the_entry_no_exception_names(make_facts, monkeypatch) -> None:
    # The role converged both entries with the host-wide form; the intent then names only one
    # (hand-edited, or an older role): the other is still a failure, not an accepted exception.
    role = role_for({"PG-02": REASON})
    assert role.validate() == []
    narrowed = {**intent_document(role), "accepted_exceptions": [{"check": "PG-02", "target": APP_TARGET, **REASON}]}
    monkeypatch.setattr("test_agreement_postgresql.intent_document", lambda _role: narrowed)
    result = pg02(make_facts, role)
    assert result.status is Status.FAIL, result.message
    assert "declared, but not accepted" in result.message
    assert "otherdb" in result.message
    assert "appdb" not in result.message
    assert any(item.startswith("accepted exception:") and "appdb" in item for item in result.evidence)


def test_a_target_naming_no_world_open_entry_is_refused() -> None:
    role = RoleRun(
        "postgresql",
        user_input([APP], ["127.0.0.1"], [{"check": "PG-02", "target": "hba:appdb/nosuch/0.0.0.0/0", **REASON}]),
    )
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables)[0] == "rampart_postgresql_accepted_exceptions[0]"


def test_the_deprecated_host_wide_form_still_accepts_every_entry(make_facts) -> None:
    role = role_for({"PG-02": REASON})
    assert role.validate() == []
    result = pg02(make_facts, role)
    assert result.status is Status.NOT_APPLICABLE
    assert "rampart_postgresql_accepted_exceptions[PG-02]" in result.message


# ----- Redis (RDS-01 bind:<address>) -----------------------------------------------------------
def redis_role(accepted: Any) -> RoleRun:
    return RoleRun(
        "redis",
        {
            "rampart_redis_bind_addresses": ["127.0.0.1", "0.0.0.0", "8.8.8.8"],
            "rampart_redis_tls_enabled": True,
            "rampart_redis_accepted_exceptions": accepted,
        },
    )


def rds01(make_facts, role: RoleRun) -> Any:
    from test_agreement_redis import audit as redis_audit  # noqa: PLC0415

    return redis_audit(make_facts, role)["RDS-01"]


def test_redis_each_named_bind_is_accepted(make_facts) -> None:
    role = redis_role([{"check": "RDS-01", "target": f"bind:{a}", **REASON} for a in ("0.0.0.0", "8.8.8.8")])
    assert role.validate() == []
    result = rds01(make_facts, role)
    assert result.status is Status.NOT_APPLICABLE, result.message
    assert "bind:0.0.0.0" in result.message
    assert "bind:8.8.8.8" in result.message


def test_redis_a_bind_no_exception_names_is_refused_by_the_role() -> None:
    role = redis_role([{"check": "RDS-01", "target": "bind:0.0.0.0", **REASON}])
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables) == ("rampart_redis_bind_addresses[2]", "8.8.8.8")
    assert "bind:8.8.8.8" in refusals[0]


def test_redis_the_audit_still_fails_the_bind_no_exception_names(make_facts) -> None:
    role = redis_role({"RDS-01": REASON})
    assert role.validate() == []
    role.variables["rampart_redis_accepted_exceptions"] = [{"check": "RDS-01", "target": "bind:0.0.0.0", **REASON}]
    result = rds01(make_facts, role)
    assert result.status is Status.FAIL, result.message
    assert "8.8.8.8" in result.message
    assert "0.0.0.0" not in result.message
    assert any(item.startswith("accepted exception:") and "0.0.0.0" in item for item in result.evidence)


def test_redis_a_target_naming_no_bind_address_is_refused() -> None:
    accepted = [{"check": "RDS-01", "target": "bind:10.9.9.9", **REASON}]
    role = RoleRun(
        "redis", {"rampart_redis_bind_addresses": ["127.0.0.1"], "rampart_redis_accepted_exceptions": accepted}
    )
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables)[0] == "rampart_redis_accepted_exceptions[0]"
