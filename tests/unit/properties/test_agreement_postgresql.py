"""The postgresql role and the PG checks agree, for generated inputs.

Inputs are drawn from the role's argument spec (hba entries, listen addresses, accepted
exceptions) with valid, edge and must-refuse values. The role's own ``validate.yml`` decides;
for every accepted input, ``pg_hba.conf.j2`` and ``postgresql.conf.j2`` are rendered as the
role renders them and become the server's view (``pg_hba_file_rules`` rows, ``pg_settings``)
in a psql snapshot, the intent document is built by the role's own expression, and the PG
checks run through the fixture runner: none may fail or be partial unless an accepted
exception covers it (and then it is ``not_applicable`` with the reason, never ``pass``).
Every refused input must be refused by a message that names one variable and its value.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest
from harness import PROPERTY_SETTINGS, RoleRun, intent_of, named_variable, run_checks, validated
from hypothesis import example, given
from hypothesis import strategies as st

from ansible_collections.rampart.hardening.plugins.module_utils.exposure import world_open
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.pg_hba import parse_hba

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "postgresql"
CHECKS = ("PG-01", "PG-02", "PG-03", "PG-04", "PG-05", "PG-08")
DATABASES = [{"name": "appdb", "owner": "app", "readonly_users": ["app_ro"]}, {"name": "otherdb", "owner": "other"}]
PAIRS = [("appdb", "app"), ("appdb", "app_ro"), ("otherdb", "other")]
WORLD = ["0.0.0.0/0", "::/0", "0.0.0.0/1", "128.0.0.0/1", "::ffff:0:0/96", "::/1", "0/0"]
REASON = {"reason": "public read replica"}

private_v4 = st.builds(
    lambda net, prefix: str(ipaddress.ip_network(f"{net}/{prefix}", strict=False)),
    st.sampled_from(["10.0.0.0", "10.20.30.40", "172.16.5.0", "192.168.1.7"]),
    st.integers(8, 32),
)
public = st.builds(
    lambda address, prefix: str(ipaddress.ip_network(f"{address}/{prefix}", strict=False)),
    st.ip_addresses(v=4).map(str),
    st.integers(2, 32),
)
v6 = st.builds(
    lambda address, prefix: str(ipaddress.ip_network(f"{address}/{prefix}", strict=False)),
    st.ip_addresses(v=6).map(str),
    st.integers(2, 128),
)
sources = st.one_of(
    private_v4,
    private_v4,
    public,
    v6,
    st.sampled_from(WORLD),
    st.sampled_from(["10.0.0.7", "fd00::7", "all", "any", "samenet", "", "10.0.0.0/33", "10.0.0.0/8 "]),
)
entries = st.builds(
    lambda pair, source: {"database": pair[0], "user": pair[1], "source": source},
    st.sampled_from([*PAIRS, *PAIRS, ("appdb", "other"), ("nodb", "app")]),
    sources,
)
listen = st.one_of(
    st.just(["127.0.0.1", "10.0.2.10"]),
    st.lists(st.sampled_from(["127.0.0.1", "10.0.2.10", "::1", "0.0.0.0", "::", "*", "localhost"]), max_size=3),
)
host_wide = st.sampled_from([{}, {"PG-02": REASON}, {"PG-02": {"reason": "  "}}, {"PG-02": True}, {"PG-01": REASON}])


def per_object(hba: list[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """The list form: entries naming one hba entry each (some of the drawn ones, or a stranger)."""
    targets = [f"hba:{e['database']}/{e['user']}/{e['source']}" for e in hba] + ["hba:appdb/app/::/0", "", "class:x"]
    entry = st.builds(
        lambda target, check, reason: {"check": check, "target": target, **reason},
        st.sampled_from(targets),
        st.sampled_from(["PG-02", "PG-02", "PG-02", "PG-01"]),
        st.sampled_from([REASON, REASON, {"reason": ""}]),
    )
    return st.lists(entry, max_size=3)


def accepts(accepted: dict | list, entry: dict[str, Any]) -> bool:
    """The acceptance names this hba entry (or PG-02 for every entry)."""
    if isinstance(accepted, dict):
        return "PG-02" in accepted
    target = f"hba:{entry['database']}/{entry['user']}/{entry['source']}"
    return any(a["check"] == "PG-02" and a["target"] in ("", target) for a in accepted)


def user_input(hba: list[dict], addresses: list[str], accepted: dict) -> dict[str, Any]:
    return {
        "rampart_postgresql_databases": DATABASES,
        "rampart_postgresql_hba": hba,
        "rampart_postgresql_listen_addresses": addresses,
        "rampart_postgresql_accepted_exceptions": accepted,
    }


def intent_document(role: RoleRun) -> dict[str, Any]:
    """The intent the role writes: the very expression of its intent.yml task."""
    return intent_of(role, "__rampart_postgresql_intent")


def conf_settings(text: str) -> dict[str, str]:
    """postgresql.conf as pg_settings shows it (quotes removed, last one wins)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_.]+) = (.*)$", line)
        if match:
            value = match.group(2).split(" #")[0].strip()
            found[match.group(1)] = value[1:-1].replace("''", "'") if value.startswith("'") else value
    return found


def hba_rows(text: str) -> list[dict[str, Any]]:
    """pg_hba.conf as pg_hba_file_rules shows it (address and netmask split)."""
    rows = []
    for rule in parse_hba(text):
        address, netmask = rule.address, None
        if address and "/" in address:
            network = ipaddress.ip_network(address, strict=False)
            address, netmask = str(network.network_address), str(network.netmask)
        rows.append({"line": rule.line, "type": rule.type, "database": list(rule.databases),
                     "user": list(rule.users), "address": address, "netmask": netmask,
                     "method": rule.method, "options": None, "error": None})  # fmt: skip
    return rows


def snapshot(role: RoleRun) -> dict[str, Any]:
    base = json.loads((FIXTURES / "snapshot-debian.json").read_text())
    settings = conf_settings(role.render("postgresql.conf.j2"))
    base["settings"].update({k: v for k, v in settings.items() if k in base["settings"]})
    base["hba"] = hba_rows(role.render("pg_hba.conf.j2"))
    base["databases"] = [{"name": d["name"], "owner": d["owner"], "allow_connections": True} for d in DATABASES]
    base["databases"].append({"name": "postgres", "owner": "postgres", "allow_connections": True})
    logins = {d["owner"] for d in DATABASES} | {u for d in DATABASES for u in d.get("readonly_users", [])}
    base["roles"] = [{"name": "postgres", "super": True, "createrole": True, "createdb": True, "login": True,
                      "replication": True, "password": "none"}] + [
        {"name": name, "super": False, "createrole": False, "createdb": False, "login": True,
         "replication": False, "password": "scram-sha-256"} for name in sorted(logins)]  # fmt: skip
    return base


def audit(make_facts, role: RoleRun) -> dict[str, Any]:
    from check_helpers import lab_commands, privileges_argv  # noqa: PLC0415 - tests/unit/checks helpers
    from test_postgresql import CLEAN_PRIVILEGES, PG_FILES  # noqa: PLC0415

    snap = snapshot(role)
    commands = lab_commands(psql=json.dumps(snap))
    commands[privileges_argv([d["name"] for d in snap["databases"]])] = CLEAN_PRIVILEGES
    facts = make_facts(commands=commands, files=PG_FILES, intent={"postgresql": intent_document(role)})
    return run_checks(facts, CHECKS)


def agree(make_facts, hba: list[dict], addresses: list[str], accepted: dict | list) -> None:
    role = RoleRun("postgresql", user_input(hba, addresses, accepted))
    if not validated(role):
        return
    results = audit(make_facts, role)
    world = [e for e in hba if world_open(e["source"])]
    for check_id, result in results.items():
        if check_id == "PG-02" and world:
            assert all(accepts(accepted, e) for e in world), "a world-open rule got through without its exception"
            assert result.status is Status.NOT_APPLICABLE, (result.message, result.evidence)
            assert REASON["reason"] in result.message
            continue
        assert result.status in (Status.PASS, Status.NOT_APPLICABLE), (check_id, result.message, result.evidence)


@st.composite
def hba_and_acceptance(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict | list]:
    hba = draw(st.lists(entries, max_size=4))
    return hba, draw(st.one_of(host_wide, per_object(hba)))


@PROPERTY_SETTINGS
@given(drawn=hba_and_acceptance(), addresses=listen)
@example(
    drawn=(
        [
            {"database": "appdb", "user": "app", "source": "0.0.0.0/0"},
            {"database": "otherdb", "user": "other", "source": "::/0"},
        ],
        [{"check": "PG-02", "target": "hba:appdb/app/0.0.0.0/0", **REASON}],
    ),
    addresses=["127.0.0.1"],
)  # fmt: skip
def test_role_and_audit_agree_per_object(make_facts, drawn, addresses) -> None:
    agree(make_facts, drawn[0], addresses, drawn[1])


@PROPERTY_SETTINGS
@given(hba=st.lists(entries, max_size=4), addresses=listen, accepted=host_wide)
@example(hba=[{"database": "appdb", "user": "app", "source": "0.0.0.0/0"}], addresses=["127.0.0.1"], accepted={})
@example(
    hba=[{"database": "appdb", "user": "app", "source": "::/0"}], addresses=["127.0.0.1"], accepted={"PG-02": REASON}
)
def test_role_and_audit_agree(make_facts, hba, addresses, accepted) -> None:
    agree(make_facts, hba, addresses, accepted)


# ----- counterexamples found by the property above, kept as regression tests ------------------
@pytest.mark.parametrize(
    ("hba", "addresses", "accepted"),
    [
        # issue 20: accepted and converged, open to every address on earth
        ([{"database": "appdb", "user": "app", "source": "0.0.0.0/0"}], ["127.0.0.1", "10.0.2.10"], {}),
        # half the Internet in one rule
        ([{"database": "appdb", "user": "app", "source": "128.0.0.0/1"}], ["127.0.0.1"], {}),
        # every IPv4 client, spelled as IPv4-mapped IPv6
        ([{"database": "otherdb", "user": "other", "source": "::ffff:0:0/96"}], ["127.0.0.1"], {}),
    ],
)
def test_world_open_is_refused_and_names_the_source(make_facts, hba, addresses, accepted) -> None:
    role = RoleRun("postgresql", user_input(hba, addresses, accepted))
    refusals = role.validate()
    assert refusals
    path, value = named_variable(refusals[0], role.variables)
    assert (path, value) == ("rampart_postgresql_hba[0].source", hba[0]["source"])
    assert "PG-02" in refusals[0]
    agree(make_facts, hba, addresses, accepted)
