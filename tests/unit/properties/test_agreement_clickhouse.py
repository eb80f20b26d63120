"""The clickhouse role and ODB-02/ODB-05 agree, for generated inputs.

Inputs come from the role's argument spec (listen addresses, the default user's networks,
application users with networks, databases, readonly and per-user quotas, the default quota,
accepted exceptions) with valid, edge and must-refuse values. The role's ``validate.yml``
decides. For every accepted input the role's drop-ins (``rampart-network.xml.j2``,
``rampart-users.xml.j2``, with the generated passwords) are rendered as the role renders them
and laid over Debian's packaged config.xml/users.xml, the intent is the role's own
``__rampart_clickhouse_intent``, and ODB-02 and ODB-05 run through the fixture runner, which
merges the files as ClickHouse does: neither may fail or be partial unless the input accepts
that check (and then it is ``not_applicable`` with the reason, never ``pass``). Every refused
input must name one variable and its value.
"""

from __future__ import annotations

import json
from typing import Any

from harness import RoleRun, assert_agrees, bounded, named_variable, run_checks, validated
from hypothesis import example, given
from hypothesis import strategies as st

CHECKS = ("ODB-02", "ODB-05")
ETC = "/etc/clickhouse-server"
REASON = {"reason": "analytics clients on a public network"}
ADDRESSES = ["127.0.0.1", "::1", "10.89.1.2", "192.168.7.7", "fd00::5", "0.0.0.0", "::", "8.8.8.8", "localhost"]
NETWORKS = ["10.0.0.0/8", "10.89.1.7", "192.168.0.0/16", "fd00::/64", "::1", "127.0.0.1", "0.0.0.0/0", "::/0",
            "0.0.0.0/1", "10.0.0.0/33", "8.8.8.0/24"]  # fmt: skip
LIMITS = ["queries", "errors", "result_rows", "read_rows", "execution_time"]

quota = st.dictionaries(st.sampled_from(LIMITS), st.sampled_from([0, 0, 1, 100]), max_size=5)
user = st.fixed_dictionaries(
    {"name": st.sampled_from(["app", "reporting", "etl", "default", "bad-name"])},
    optional={
        "networks": st.lists(st.sampled_from(NETWORKS), min_size=1, max_size=3, unique=True),
        "readonly": st.booleans(),
        "databases": st.lists(st.sampled_from(["appdb", "logs", "bad-db"]), max_size=2, unique=True),
        "quota": quota,
    },
)

valid_user = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["app", "reporting", "etl"]),
        "networks": st.lists(st.sampled_from(NETWORKS[:6]), min_size=1, max_size=3, unique=True),
    },
    optional={"readonly": st.booleans(), "databases": st.sampled_from([["appdb"], ["logs"]]), "quota": quota},
)


@st.composite
def clickhouse_input(draw: st.DrawFn) -> dict[str, Any]:
    users = draw(st.one_of(st.lists(valid_user, max_size=3, unique_by=lambda u: u["name"]), st.lists(user, max_size=3)))
    return {
        "rampart_clickhouse_listen_addresses": draw(
            st.one_of(
                st.lists(st.sampled_from(ADDRESSES[:5]), min_size=1, max_size=3, unique=True).map(
                    lambda found: list(dict.fromkeys(["127.0.0.1", *found]))
                ),
                st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=3, unique=True),
            )
        ),
        "rampart_clickhouse_default_user_networks": draw(
            st.sampled_from([["127.0.0.1", "::1"], ["::1"], ["127.0.0.0/8"], ["127.0.0.1", "10.0.0.0/8"], ["::/0"]])
        ),
        "rampart_clickhouse_users": users,
        "rampart_clickhouse_databases": ["appdb", "logs"],
        "rampart_clickhouse_default_quota": draw(
            st.sampled_from(
                [
                    {
                        "duration": 3600,
                        "queries": 10000,
                        "errors": 1000,
                        "result_rows": 0,
                        "read_rows": 0,
                        "execution_time": 0,
                    },
                    {
                        "duration": 60,
                        "queries": 0,
                        "errors": 0,
                        "result_rows": 0,
                        "read_rows": 10**9,
                        "execution_time": 0,
                    },
                ]
            )
        ),
        "rampart_clickhouse_accepted_exceptions": draw(
            st.sampled_from([{}, {}, {"ODB-02": REASON}, {"ODB-05": REASON}, {"ODB-02": REASON, "ODB-05": REASON}])
        ),
    }


def audit(make_facts, role: RoleRun) -> dict[str, Any]:
    from check_helpers import fixture, lab_commands, systemctl_show  # noqa: PLC0415

    accounts = ["default", *(u["name"] for u in role.variables["rampart_clickhouse_users"])]
    passwords = {"__rampart_clickhouse_passwords": {name: f"generated-{name}-0123456789abcdef" for name in accounts}}
    files = {
        f"{ETC}/config.xml": fixture("clickhouse/config.xml"),
        f"{ETC}/users.xml": fixture("clickhouse/users.xml"),
        f"{ETC}/config.d/rampart-network.xml": role.render("rampart-network.xml.j2"),
        f"{ETC}/users.d/rampart-users.xml": role.render("rampart-users.xml.j2", passwords),
    }
    intent = json.loads(json.dumps(role.expr("__rampart_clickhouse_intent")))
    commands = lab_commands(systemctl=systemctl_show(active=["clickhouse-server.service"]))
    facts = make_facts(commands=commands, files=files, intent={"clickhouse": intent})
    return run_checks(facts, CHECKS)


@bounded(80)
@given(user=clickhouse_input())
@example(
    user={
        "rampart_clickhouse_listen_addresses": ["127.0.0.1", "10.89.1.2"],
        "rampart_clickhouse_default_user_networks": ["127.0.0.1", "::1"],
        "rampart_clickhouse_users": [{"name": "app", "networks": ["10.0.0.0/8"], "readonly": False,
                                      "quota": {"queries": 0, "errors": 0}}],
        "rampart_clickhouse_databases": ["appdb"],
        "rampart_clickhouse_default_quota": {"duration": 3600, "queries": 10000, "errors": 1000, "result_rows": 0,
                                             "read_rows": 0, "execution_time": 0},
        "rampart_clickhouse_accepted_exceptions": {},
    }
)  # fmt: skip
def test_role_and_audit_agree(make_facts, user) -> None:
    role = RoleRun("clickhouse", user)
    if not validated(role):
        return
    assert_agrees(audit(make_facts, role), accepted=user["rampart_clickhouse_accepted_exceptions"])


def test_per_user_quota_without_limits_is_refused() -> None:
    # Counterexample of the property: a user's quota override {queries: 0, errors: 0} zeroed the
    # default quota's only limits; the role accepted it and ODB-05 reported the user as unlimited.
    user = {"name": "app", "networks": ["10.0.0.0/8"], "quota": {"queries": 0, "errors": 0}}
    role = RoleRun("clickhouse", {"rampart_clickhouse_users": [user]})
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables) == ("rampart_clickhouse_users[0].quota", user["quota"])
    assert "ODB-05" in refusals[0]
