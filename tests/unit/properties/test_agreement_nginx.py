"""The nginx role and the audit agree, for generated inputs.

User classes leave keys out or null them, locations override them, HSTS and accepted
exceptions vary. The role's own ``validate.yml`` (with the ``nginx_model`` filter) decides;
for every accepted input the role's templates are rendered exactly as ``config.yml`` renders
them, dumped as ``nginx -T`` would print them and audited with the rate-limit, header, TLS and
edge-auth checks: none may fail or be partial unless the input's accepted exceptions name it
(and then the check says "accepted exception" with the reason, never pass).
"""

from __future__ import annotations

from typing import Any

import pytest
from harness import PROPERTY_SETTINGS, RoleRun, assert_agrees, named_variable, validated
from hypothesis import example, given
from hypothesis import strategies as st
from nginx_tree import audit

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

# Checks judged from the rendered tree; AUTH-02 reads the htpasswd files auth.yml writes (bcrypt
# through community.general.htpasswd, 0640). Left out: CRT-* (certificates: the acme and
# internal_ca roles), LOG-* (logrotate, journald and auditd belong to the OS and the baseline role).
CHECKS = (
    *(f"DOS-0{n}" for n in range(1, 7)),
    *(f"HDR-0{n}" for n in range(1, 7)),
    *(f"TLS-{n:02d}" for n in range(1, 11)),
    "AUTH-01",
    "AUTH-02",
)
REASON = {"reason": "internal tool behind the VPN"}
ACCEPTABLE = ("AUTH-01", "DOS-01", "DOS-02", "DOS-03", "HDR-01")
PER_CLASS = ("DOS-01", "DOS-02", "DOS-03")
VALID_RATES = ["1r/s", "3r/s", "10r/s", "30r/m", "50r/s"]

policy_values: dict[str, st.SearchStrategy[Any]] = {
    "rate": st.one_of(st.sampled_from(VALID_RATES), st.none(), st.sampled_from(["10/s", "fast"])),
    "burst": st.one_of(st.integers(0, 60), st.just(-1)),
    "limit_conn": st.one_of(st.integers(1, 100), st.none(), st.just(0)),
    "client_max_body_size": st.sampled_from(["64k", "1m", "10m", "0", "1g", "abc"]),
    "methods": st.lists(st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE"]), max_size=4),
    "allow": st.lists(st.sampled_from(["10.0.0.0/8", "192.168.0.0/16", "0.0.0.0/0", "::/0"]), max_size=2),
}


@st.composite
def policy(draw: st.DrawFn, max_keys: int = 3) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(policy_values)), max_size=max_keys, unique=True))
    return {key: draw(policy_values[key]) for key in keys}


@st.composite
def nginx_input(draw: st.DrawFn) -> dict[str, Any]:
    classes = draw(st.dictionaries(st.sampled_from(["reports", "bulk", "public"]), policy(), max_size=2))
    names = sorted({"public", "api", "admin", "auth", *classes})
    locations = []
    for index, class_name in enumerate(draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))):
        # The audit recognises admin and login locations by their path: so must the role.
        stem = draw(st.sampled_from(["p", "p", "admin", "dashboard", "login", "api"]))
        location = {"path": f"/s{index}/{stem}/", "class": class_name, "root": "/srv/www"}
        if class_name == "auth":
            location.update(path=f"/login{index}", modifier="=")
        location.update(draw(policy(max_keys=1)))
        locations.append(location)
    accepted = draw(st.lists(st.sampled_from(ACCEPTABLE), max_size=2, unique=True))
    # Either form: the per-check mapping (deprecated, the whole host) or entries naming a class.
    exceptions: Any = dict.fromkeys(accepted, REASON)
    if draw(st.booleans()):
        targets = st.sampled_from([None, *(f"class:{name}" for name in names)])
        exceptions = [
            {"check": check_id, **REASON, **({"target": t} if (t := draw(targets)) and check_id in PER_CLASS else {})}
            for check_id in accepted
        ]
    return {
        "rampart_nginx_classes": classes,
        "rampart_nginx_sites": [{"name": "app", "server_names": ["app.example.test"], "locations": locations}],
        "rampart_nginx_auth_users": [{"name": "ops", "groups": ["admin"]}],
        "rampart_nginx_hsts_max_age": draw(st.sampled_from([63072000, 94608000, 31536000, 15768000, 0, -5])),
        "rampart_nginx_accepted_exceptions": exceptions,
    }


def agree(make_facts, user: dict[str, Any]) -> None:
    role = RoleRun("nginx", user)
    if not validated(role):
        return
    exceptions = user["rampart_nginx_accepted_exceptions"]
    accepted = {e["check"] for e in exceptions} if isinstance(exceptions, list) else set(exceptions)
    assert_agrees(audit(make_facts, role, CHECKS), accepted=accepted, reason=REASON["reason"])


@PROPERTY_SETTINGS
@given(user=nginx_input())
@example(
    user={
        "rampart_nginx_classes": {"reports": {"rate": "2r/s", "methods": ["GET"]}},
        "rampart_nginx_sites": [
            {"name": "app", "server_names": ["app.example.test"],
             "locations": [{"path": "/reports/", "class": "reports", "root": "/srv/www"}]}
        ],
        "rampart_nginx_auth_users": [],
        "rampart_nginx_hsts_max_age": 63072000,
        "rampart_nginx_accepted_exceptions": {},
    }
)  # fmt: skip
def test_role_and_audit_agree(make_facts, user) -> None:
    agree(make_facts, user)


# ----- counterexamples found by the property above, kept as regression tests ------------------
def site(*locations: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": "app", "server_names": ["app.example.test"], "locations": list(locations)}]


BASE = {
    "rampart_nginx_classes": {},
    "rampart_nginx_auth_users": [{"name": "ops", "groups": ["admin"]}],
    "rampart_nginx_hsts_max_age": 63072000,
    "rampart_nginx_accepted_exceptions": {},
}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        # issue 14/20: a user class without limit_conn got no connection limit (now inherits 20);
        # an explicit null is refused unless DOS-02 is accepted
        (
            {"rampart_nginx_sites": site({"path": "/", "class": "public", "root": "/srv", "limit_conn": None})},
            "rampart_nginx_sites[0].locations[0].limit_conn",
        ),
        # issue 20: "One of A, B, C or D is wrong" for a negative HSTS max-age
        ({"rampart_nginx_hsts_max_age": -5}, "rampart_nginx_hsts_max_age"),
        # half a year of HSTS: HDR-01 partial
        ({"rampart_nginx_hsts_max_age": 15768000}, "rampart_nginx_hsts_max_age"),
    ],
)
def test_refusals_name_their_variable(make_facts, change, path) -> None:
    user = {**BASE, "rampart_nginx_sites": site({"path": "/", "class": "public", "root": "/srv"}), **change}
    role = RoleRun("nginx", user)
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables)[0] == path


@pytest.mark.parametrize(
    ("locations", "path"),
    [
        # fuzz: rate null (DOS-01 accepted) on an admin-looking path left it without brute-force
        # protection, DOS-06 partial
        (
            [{"path": "/s0/admin/", "class": "admin", "root": "/srv", "rate": None}],
            "rampart_nginx_sites[0].locations[0].rate",
        ),
        # property: a login path in a class that inherits the default 10r/s is not stricter than
        # the api class (10r/s), DOS-01 partial
        (
            [
                {"path": "/s0/p/", "class": "api", "root": "/srv"},
                {"path": "/s1/login/", "class": "bulk", "root": "/srv"},
            ],
            "rampart_nginx_classes.bulk.rate",
        ),
        # property: an admin-looking path in a class without authentication, AUTH-01 fail
        ([{"path": "/s0/dashboard/", "class": "api", "root": "/srv"}], "rampart_nginx_sites[0].locations[0].path"),
    ],
)
def test_counterexamples_are_refused(make_facts, locations, path) -> None:
    user = {
        **BASE,
        "rampart_nginx_classes": {"bulk": {"limit_conn": 5}},
        "rampart_nginx_sites": site(*locations),
        "rampart_nginx_accepted_exceptions": {"DOS-01": REASON} if path.endswith("locations[0].rate") else {},
    }
    role = RoleRun("nginx", user)
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables)[0] == path


def test_user_class_without_limit_conn_inherits_the_safe_default(make_facts) -> None:
    user = {
        **BASE,
        "rampart_nginx_classes": {"reports": {"rate": "20r/s", "methods": ["GET"]}},
        "rampart_nginx_sites": site({"path": "/reports/", "class": "reports", "root": "/srv/www"}),
    }
    role = RoleRun("nginx", user)
    assert role.validate() == []
    policy = role.variables["_rampart_nginx_model"]["sites"][0]["locations"][0]["policy"]
    assert (policy["limit_conn"], policy["client_max_body_size"]) == (20, "1m")
    results = audit(make_facts, role, ("DOS-02", "DOS-03"))
    assert results["DOS-02"].status is Status.PASS, results["DOS-02"]


def test_accepted_null_limit_is_listed_as_an_accepted_exception_not_a_pass(make_facts) -> None:
    user = {
        **BASE,
        "rampart_nginx_sites": site({"path": "/", "class": "public", "root": "/srv", "limit_conn": None}),
        "rampart_nginx_accepted_exceptions": {"DOS-02": REASON},
    }
    role = RoleRun("nginx", user)
    assert role.validate() == []
    result = audit(make_facts, role, ("DOS-02",))["DOS-02"]
    assert result.status is Status.NOT_APPLICABLE
    assert "accepted exception" in result.message
    assert REASON["reason"] in result.message


# ----- accepted exceptions per location class (issue 20) --------------------------------------
NO_CONN = {"limit_conn": None}
TWO_CLASSES = {
    **BASE,
    "rampart_nginx_classes": {"bulk": NO_CONN, "reports": NO_CONN},
    "rampart_nginx_sites": site(
        {"path": "/downloads/", "class": "bulk", "root": "/srv"},
        {"path": "/reports/", "class": "reports", "root": "/srv"},
    ),
}
ONLY_BULK = [{"check": "DOS-02", "target": "class:bulk", **REASON}]


def test_acceptance_of_one_class_leaves_the_other_refused() -> None:
    role = RoleRun("nginx", {**TWO_CLASSES, "rampart_nginx_accepted_exceptions": ONLY_BULK})
    refusals = role.validate()
    assert named_variable(refusals[0], role.variables) == ("rampart_nginx_classes.reports.limit_conn", None)
    assert 'target: "class:reports"' in refusals[0]


def test_the_audit_accepts_the_named_class_only(make_facts) -> None:
    both = [*ONLY_BULK, {"check": "DOS-02", "target": "class:reports", **REASON}]
    role = RoleRun("nginx", {**TWO_CLASSES, "rampart_nginx_accepted_exceptions": both})
    assert role.validate() == []
    accepted = audit(make_facts, role, ("DOS-02",))["DOS-02"]
    assert accepted.status is Status.NOT_APPLICABLE, accepted
    assert "on class:bulk, class:reports" in accepted.message
    # The same host, its intent naming only one class: the other class's location still fails.
    role.variables["rampart_nginx_accepted_exceptions"] = ONLY_BULK
    result = audit(make_facts, role, ("DOS-02",))["DOS-02"]
    assert result.status is Status.FAIL, result
    assert "location /reports/" in result.message
    assert any(line.startswith("accepted exception:") and "/downloads/" in line for line in result.evidence)


def test_the_per_check_form_still_accepts_every_class(make_facts) -> None:
    role = RoleRun("nginx", {**TWO_CLASSES, "rampart_nginx_accepted_exceptions": {"DOS-02": REASON}})
    assert role.validate() == []
    result = audit(make_facts, role, ("DOS-02",))["DOS-02"]
    assert result.status is Status.NOT_APPLICABLE
    assert "rampart_nginx_accepted_exceptions[DOS-02]" in result.message


@pytest.mark.parametrize(
    ("exceptions", "path"),
    [
        ([{"check": "DOS-02", "target": "class:nosuch", **REASON}], "rampart_nginx_accepted_exceptions[0]"),
        ([{"check": "HDR-01", "target": "class:bulk", **REASON}], "rampart_nginx_accepted_exceptions[0]"),
        ([{"check": "DOS-02", "target": "class:bulk"}], "rampart_nginx_accepted_exceptions[0]"),
        (["DOS-02"], "rampart_nginx_accepted_exceptions[0]"),
    ],
)
def test_malformed_acceptance_entries_are_refused_by_name(exceptions, path) -> None:
    role = RoleRun("nginx", {**TWO_CLASSES, "rampart_nginx_accepted_exceptions": exceptions})
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables)[0] == path
