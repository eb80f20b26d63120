"""The redis role and the network-facing Redis checks agree, for generated bind/TLS inputs.

The role's ``validate.yml`` decides; for every accepted input ``redis.conf.j2`` is rendered as
the role renders it, the intent is the role's own ``__rampart_redis_intent`` and RDS-01 (bind,
protected mode, TLS off-host) and RDS-05 (protected configs) run through the fixture runner:
neither may fail or be partial unless ``rampart_redis_accepted_exceptions`` names it.
"""

from __future__ import annotations

import json
from typing import Any

from harness import PROPERTY_SETTINGS, RoleRun, assert_agrees, named_variable, run_checks, validated
from hypothesis import example, given
from hypothesis import strategies as st

CHECKS = ("RDS-01", "RDS-05")
REASON = {"reason": "behind a private load balancer"}
ADDRESSES = [
    "127.0.0.1",
    "::1",
    "10.0.2.10",
    "192.168.7.7",
    "fd00::5",
    "0.0.0.0",
    "::",
    "::0",
    "8.8.8.8",
    "2001:4860::8",
]


@st.composite
def redis_input(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "rampart_redis_bind_addresses": draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=3, unique=True)),
        "rampart_redis_tls_enabled": draw(st.booleans()),
        "rampart_redis_allow_plaintext_remote": draw(st.booleans()),
        "rampart_redis_accepted_exceptions": draw(st.one_of(st.sampled_from([{}, {"RDS-01": REASON}]), per_bind)),
    }


# The list form: each entry accepts RDS-01 on one bind address (or, without a target, on all).
per_bind = st.lists(
    st.builds(
        lambda target, reason: {"check": "RDS-01", **({"target": target} if target else {}), **reason},
        st.sampled_from(["", *(f"bind:{a}" for a in ADDRESSES)]),
        st.sampled_from([REASON, REASON, {"reason": " "}]),
    ),
    max_size=3,
)


def accepts_rds01(accepted: dict | list) -> bool:
    return "RDS-01" in accepted if isinstance(accepted, dict) else any(a["check"] == "RDS-01" for a in accepted)


def audit(make_facts, role: RoleRun) -> dict[str, Any]:
    from check_helpers import LAB_PASSWD, lab_commands  # noqa: PLC0415

    conf = role.render("redis.conf.j2")
    intent = json.loads(json.dumps(role.expr("__rampart_redis_intent")))
    tree = {"/etc/redis/redis.conf": (conf, 0o640), "/etc/passwd": LAB_PASSWD}
    facts = make_facts(
        commands=lab_commands(redis_ping="NOAUTH Authentication required.\n"), files=tree, intent={"redis": intent}
    )
    return run_checks(facts, CHECKS)


@PROPERTY_SETTINGS
@given(user=redis_input())
@example(
    user={
        "rampart_redis_bind_addresses": ["0.0.0.0"],
        "rampart_redis_tls_enabled": True,
        "rampart_redis_allow_plaintext_remote": False,
        "rampart_redis_accepted_exceptions": {},
    }
)
def test_role_and_audit_agree(make_facts, user) -> None:
    role = RoleRun("redis", user)
    if not validated(role):
        return
    accepted = ["RDS-01"] if accepts_rds01(user["rampart_redis_accepted_exceptions"]) else []
    assert_agrees(audit(make_facts, role), accepted=accepted)


def test_wildcard_bind_in_any_spelling_is_refused_and_named(make_facts) -> None:
    # Counterexample of the property: the role took 0.0.0.0 / :: (valid IP addresses) with TLS
    # on, and RDS-01 failed the host for a wildcard bind.
    for spelling in ("0.0.0.0", "::", "::0", "0:0:0:0:0:0:0:0"):
        role = RoleRun(
            "redis", {"rampart_redis_bind_addresses": ["127.0.0.1", spelling], "rampart_redis_tls_enabled": True}
        )
        refusals = role.validate()
        assert refusals, spelling
        assert named_variable(refusals[0], role.variables) == ("rampart_redis_bind_addresses[1]", spelling)
        assert "RDS-01" in refusals[0]
