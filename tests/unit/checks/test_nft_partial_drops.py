"""A drop rule only hides a port when it drops that port's traffic for sure.

Fixtures are what nft 1.0.6 prints (``nft -j list ruleset``) for the ``.nft`` files beside them:
- ipv6-off-pg-open: the firewall role's layout with ``rampart_firewall_ipv6: false`` (``meta nfproto
  ipv6 counter drop``) and a hand-added ``tcp dport 5432 accept``: IPv4 clients reach PostgreSQL;
- negated-allowlist: ``tcp dport != { 22, 80, 443, 5432 } drop`` with policy accept: 5432 is open;
- named-set-drop: ``tcp dport @blocked drop`` (23, 111) before ``tcp dport { 22, 5432 } accept``.
"""

from __future__ import annotations

import json

import pytest
from check_helpers import assert_status, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nftables import parse_ruleset
from ansible_collections.rampart.hardening.plugins.module_utils.probes.firewall import port_exposure

PG_PUBLIC = 'tcp LISTEN 0 244 0.0.0.0:5432 0.0.0.0:* users:(("postgres",pid=7,fd=6))\n'


@pytest.mark.parametrize("name", ["ipv6-off-pg-open", "negated-allowlist", "named-set-drop"])
def test_data_port_behind_a_partial_drop_fails(make_facts, name):
    facts = make_facts(
        commands=lab_commands(nft=fixture(f"firewall/{name}.json"), ss=fixture("sockets/lab.txt") + PG_PUBLIC)
    )
    result = run("NET-04", facts)
    assert_status(result, Status.FAIL)
    assert "5432" in result.message


@pytest.mark.parametrize(
    ("name", "port", "exposed"),
    [
        ("ipv6-off-pg-open", 6379, False),  # the final counter drop still closes what no rule opens
        ("negated-allowlist", 6379, False),  # not in the != set: dropped
        ("negated-allowlist", 22, True),
        ("named-set-drop", 23, False),  # in @blocked: dropped
        ("named-set-drop", 6379, False),
        ("named-set-drop", 5432, True),
    ],
)
def test_partial_drops_still_close_what_they_name(name, port, exposed):
    assert bool(port_exposure(parse_ruleset(fixture(f"firewall/{name}.json")), port)) is exposed


def test_role_layout_with_ipv6_off_still_passes_net02(make_facts):
    facts = make_facts(commands=lab_commands(nft=fixture("firewall/ipv6-off-pg-open.json")))
    assert_status(run("NET-02", facts), Status.PASS)


def _input_rules(name: str) -> list:
    rules = parse_ruleset(fixture(f"firewall/{name}.json"))
    return [r for c in rules.base_chains("input") for r in c.rules]


def test_partial_drop_conditions_are_recorded():
    nfproto_drop = next(r for r in _input_rules("ipv6-off-pg-open") if "nfproto" in r.text)
    assert nfproto_drop.families == {"ipv6"}  # drops IPv6 only: an IPv4 packet goes on
    assert not nfproto_drop.sure_drop
    assert not nfproto_drop.unconditional
    negated = next(r for r in _input_rules("negated-allowlist") if r.verdict == "drop")
    assert negated.excluded_dports == [(22, 22), (80, 80), (443, 443), (5432, 5432)]
    assert not negated.unmodelled
    assert not negated.unconditional
    named = next(r for r in _input_rules("named-set-drop") if r.verdict == "drop" and r.dports)
    assert named.dports == [(23, 23), (111, 111)]


def test_last_rule_dropping_one_protocol_is_no_default_drop(make_facts):
    """'meta l4proto icmp drop' closing a policy-accept chain leaves TCP and UDP accepted by default."""
    document = json.loads(fixture("firewall/negated-allowlist.json"))
    for item in document["nftables"]:
        rule = item.get("rule")
        if rule and rule["expr"][-1] == {"drop": None}:
            rule["expr"][0] = {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "icmp"}}
    facts = make_facts(commands=lab_commands(nft=json.dumps(document)))
    assert_status(run("NET-02", facts), Status.FAIL)


@pytest.mark.parametrize(
    "match",
    [
        {"op": "==", "left": 7, "right": "x"},
        {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": "@gone"},
        {"op": ">=", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 1024},
    ],
)
def test_unreadable_match_in_a_drop_rule_hides_nothing(make_facts, match):
    document = json.loads(fixture("firewall/named-set-drop.json"))
    for item in document["nftables"]:
        rule = item.get("rule")
        if rule and "@blocked" in json.dumps(rule):
            rule["expr"][0] = {"match": match}
    rules = parse_ruleset(json.dumps(document))
    assert port_exposure(rules, 5432)  # accepted by the next rule: the odd drop above it proves nothing
