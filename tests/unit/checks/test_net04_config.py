"""NET-04 judges the firewall's ruleset and intent, not only what listens (issue 20).

A database/broker port accepted from any source is a failure whether or not something
listens yet (the next package install makes it reachable): no ``saddr``, or a saddr that
admits every address in any spelling ``nft -j`` prints (prefix /0, ``::/0``, a wide range,
an anonymous or named set holding one, through a jump). Accepted exceptions are per object:
``{check: NET-04, target: "service:<name>", reason}`` accepts that firewall service only.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from check_helpers import GARBAGE, assert_status, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

DEFAULT_DROP = fixture("firewall/default-drop.json")
IP_SADDR = {"payload": {"protocol": "ip", "field": "saddr"}}
IP6_SADDR = {"payload": {"protocol": "ip6", "field": "saddr"}}
REASON = "public analytics endpoint, TLS and passwords"


def dport(value: Any) -> dict[str, Any]:
    return {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": value}}


def saddr(value: Any, left: dict[str, Any] | None = None, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left or IP_SADDR, "right": value}}


def prefix(addr: str, length: int) -> dict[str, Any]:
    return {"prefix": {"addr": addr, "len": length}}


def nft(*rules: list[dict[str, Any]], sets: dict[str, list[Any]] | None = None, chain: str = "input") -> str:
    """The lab ruleset with ``rules`` appended to ``chain`` (extra regular chains are created)."""
    document = json.loads(DEFAULT_DROP)
    items = document["nftables"]
    for name, elements in (sets or {}).items():
        items.insert(2, {"set": {"family": "inet", "table": "rampart", "name": name, "type": "ipv4_addr",
                                 "flags": ["interval"], "elem": elements}})  # fmt: skip
    if chain != "input":
        items.append({"chain": {"family": "inet", "table": "rampart", "name": chain, "handle": 90}})
    for handle, expr in enumerate(rules, start=100):
        items.append({"rule": {"family": "inet", "table": "rampart", "chain": chain, "handle": handle, "expr": expr}})
    return json.dumps(document)


def net04(make_facts, ruleset: str | None = DEFAULT_DROP, intent: dict | None = None, ss: str | None = None):
    overrides: dict[str, Any] = {"nft": ruleset}
    if ss is not None:
        overrides["ss"] = ss
    facts = make_facts(commands=lab_commands(**overrides), intent={"firewall": intent} if intent else None)
    return run("NET-04", facts)


ACCEPT = {"accept": None}
WORLD_RULES = {
    "no saddr": [dport(5432), ACCEPT],
    "prefix /0": [saddr(prefix("0.0.0.0", 0)), dport(5432), ACCEPT],
    "ip6 ::/0": [saddr(prefix("::", 0), IP6_SADDR), dport(6379), ACCEPT],
    "string 0.0.0.0/0": [saddr("0.0.0.0/0"), dport(3306), ACCEPT],
    "half the Internet": [saddr(prefix("128.0.0.0", 1)), dport(27017), ACCEPT],
    "full range": [saddr({"range": ["0.0.0.0", "255.255.255.255"]}), dport(9000), ACCEPT],
    "anonymous set": [saddr({"set": ["10.0.0.5", prefix("0.0.0.0", 0)]}, op="in"), dport(8123), ACCEPT],
    "port set": [dport({"set": [443, 5672]}), ACCEPT],
    "port range": [dport({"range": [5000, 5500]}), ACCEPT],
    "amqps": [dport(5671), ACCEPT],
    "clickhouse tls": [dport(9440), ACCEPT],
    "negated restriction": [saddr(prefix("10.0.0.0", 8), op="!="), dport(5432), ACCEPT],
}


@pytest.mark.parametrize("rule", WORLD_RULES.values(), ids=WORLD_RULES.keys())
def test_any_source_accept_on_a_data_port_fails_even_if_nothing_listens(make_facts, rule) -> None:
    result = net04(make_facts, nft(rule))
    assert_status(result, Status.FAIL)
    assert "from any source" in result.message


def test_named_set_holding_the_world_fails_and_a_private_one_passes(make_facts) -> None:
    rule = [saddr("@clients"), dport(5432), ACCEPT]
    world = [{"elem": {"val": prefix("10.0.0.0", 8)}}, prefix("0.0.0.0", 0)]
    assert_status(net04(make_facts, nft(rule, sets={"clients": world})), Status.FAIL)
    private = [prefix("10.0.0.0", 8), {"range": ["192.168.1.10", "192.168.1.20"]}, "172.16.0.9"]
    assert_status(net04(make_facts, nft(rule, sets={"clients": private})), Status.PASS)


def test_world_source_through_a_jump_fails(make_facts) -> None:
    jump = nft([saddr(prefix("0.0.0.0", 0)), {"jump": {"target": "db"}}])
    document = json.loads(jump)
    document["nftables"].append({"chain": {"family": "inet", "table": "rampart", "name": "db", "handle": 91}})
    expr = [dport(5432), ACCEPT]
    document["nftables"].append({"rule": {"family": "inet", "table": "rampart", "chain": "db", "handle": 120,
                                          "expr": expr}})  # fmt: skip
    assert_status(net04(make_facts, json.dumps(document)), Status.FAIL)


@pytest.mark.parametrize(
    "rules",
    [
        [[saddr(prefix("10.0.0.0", 8)), dport(5432), ACCEPT]],  # source-restricted
        [[saddr({"set": ["10.0.0.5", "fd00::5"]}, op="in"), dport(6379), ACCEPT]],
        [[saddr(prefix("10.0.0.0", 1)), saddr(prefix("10.0.0.0", 8)), dport(5432), ACCEPT]],  # world AND private
        [[dport(5432), {"drop": None}], [dport(5432), ACCEPT]],  # dropped before it is accepted
        [[dport(8443), ACCEPT]],  # not a data port
        [[{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "established"}}, dport(5432), ACCEPT]],
    ],
)
def test_restricted_or_dropped_data_ports_pass(make_facts, rules) -> None:
    assert_status(net04(make_facts, nft(*rules)), Status.PASS)


@pytest.mark.parametrize(
    "ruleset",
    [GARBAGE, DEFAULT_DROP[: len(DEFAULT_DROP) // 2], '{"nftables": [{"rule": {"family": "inet"}}]}'],
    ids=["garbage", "truncated", "rule without chain"],
)
def test_a_ruleset_it_cannot_read_is_an_error_not_a_pass(make_facts, ruleset) -> None:
    assert_status(net04(make_facts, ruleset), Status.ERROR)


def test_malformed_set_elements_are_not_taken_for_the_world(make_facts) -> None:
    rule = [saddr("@odd"), dport(5432), ACCEPT]
    result = net04(make_facts, nft(rule, sets={"odd": [{"bogus": 1}, {"range": ["x", "y"]}, 7]}))
    assert_status(result, Status.PASS)
    missing = net04(make_facts, nft([saddr("@nowhere"), dport(5432), ACCEPT]))
    assert_status(missing, Status.PASS)  # nft refuses to load a rule naming a set that does not exist


# ----- the firewall intent, and acceptance per service --------------------------------------
def service(name: str, ports: list[Any], sources: list[str]) -> dict[str, Any]:
    return {"name": name, "protocol": "tcp", "ports": ports, "sources": sources, "rate_limit": None, "docker": False}


PG_ANY = service("postgresql", [5432], ["any"])
REDIS_ANY = service("redis-tls", [6380], ["0.0.0.0/0", "::/0"])
PG_RULE = [dport(5432), {"counter": None}, ACCEPT]
REDIS_RULE = [dport(6380), ACCEPT]


def firewall_intent(services: list[dict[str, Any]], accepted: Any = None) -> dict[str, Any]:
    return {
        "role": "firewall",
        "services": services,
        "accepted_exceptions": accepted if accepted is not None else {},
        "accepted_exceptions_variable": "rampart_firewall_accepted_exceptions",
    }


def test_declared_any_source_service_fails_without_acceptance(make_facts) -> None:
    result = net04(make_facts, DEFAULT_DROP, firewall_intent([PG_ANY]))
    assert_status(result, Status.FAIL)
    assert any("service 'postgresql'" in line for line in result.evidence)


def test_acceptance_names_the_service_and_covers_only_it(make_facts) -> None:
    accepted = [{"check": "NET-04", "target": "service:postgresql", "reason": REASON}]
    only_pg = net04(make_facts, nft(PG_RULE), firewall_intent([PG_ANY], accepted))
    assert_status(only_pg, Status.NOT_APPLICABLE)
    assert "service:postgresql" in only_pg.message
    assert REASON in only_pg.message
    both = net04(make_facts, nft(PG_RULE, REDIS_RULE), firewall_intent([PG_ANY, REDIS_ANY], accepted))
    assert_status(both, Status.FAIL)
    assert "6380" in both.message
    assert any(line.startswith("accepted exception:") and "5432" in line for line in both.evidence)


def test_acceptance_of_another_service_accepts_nothing(make_facts) -> None:
    accepted = [{"check": "NET-04", "target": "service:redis-tls", "reason": REASON}]
    assert_status(net04(make_facts, nft(PG_RULE), firewall_intent([PG_ANY], accepted)), Status.FAIL)
    hand_added = net04(make_facts, nft([dport(3306), ACCEPT]), firewall_intent([REDIS_ANY], accepted))
    assert_status(hand_added, Status.FAIL)  # a rule no accepted service declares stays a failure


def test_per_check_form_still_accepts_the_whole_host(make_facts) -> None:
    accepted = {"NET-04": {"reason": REASON}}  # deprecated form: every object of the host
    result = net04(make_facts, nft(PG_RULE, REDIS_RULE), firewall_intent([PG_ANY, REDIS_ANY], accepted))
    assert_status(result, Status.NOT_APPLICABLE)
    assert "rampart_firewall_accepted_exceptions[NET-04]" in result.message


@pytest.mark.parametrize(
    "accepted",
    [
        [{"check": "NET-04", "target": "service:postgresql", "reason": "  "}],
        [{"check": "NET-04", "target": "service:postgresql"}],
        [{"check": "NET-03", "target": "service:postgresql", "reason": REASON}],
        ["NET-04"],
        "NET-04",
        {"NET-04": True},
    ],
)
def test_malformed_acceptance_accepts_nothing(make_facts, accepted) -> None:
    assert_status(net04(make_facts, nft(PG_RULE), firewall_intent([PG_ANY], accepted)), Status.FAIL)


def test_listening_and_accepted_from_anywhere_still_fails(make_facts) -> None:
    listener = 'tcp LISTEN 0 244 0.0.0.0:5432 0.0.0.0:* users:(("postgres",pid=5,fd=6))\n'
    result = net04(make_facts, nft(PG_RULE), ss=fixture("sockets/lab.txt") + listener)
    assert_status(result, Status.FAIL)
    assert "0.0.0.0:5432" in result.message
