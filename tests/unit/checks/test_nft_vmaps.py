"""Verdict maps (``vmap``) in nft -j output: the idiom of the nftables wiki's server ruleset.

The fixture ``firewall/vmap-server.json`` is what nft 1.0.6 prints (``nft -j list ruleset``) for a
ruleset that accepts ports through anonymous and named verdict maps, a concatenated
``ip saddr . tcp dport`` map and a ``meta l4proto vmap`` jump (tests/unit/fixtures/firewall/vmap-server.nft).
"""

from __future__ import annotations

import json

import pytest
from check_helpers import assert_status, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nftables import parse_ruleset
from ansible_collections.rampart.hardening.plugins.module_utils.probes.firewall import port_exposure

VMAP = fixture("firewall/vmap-server.json")


def listener(port: int) -> str:
    return f'tcp LISTEN 0 511 0.0.0.0:{port} 0.0.0.0:* users:(("db",pid=9,fd=6))\n'


def with_vmap_rule(vmap: dict) -> str:
    """The lab's default-drop ruleset with one more input rule, a vmap, ahead of the final drop."""
    document = json.loads(fixture("firewall/default-drop.json"))
    items = document["nftables"]
    base = next(i["chain"] for i in items if i.get("chain", {}).get("hook") == "input")
    rule = {"rule": {"family": base["family"], "table": base["table"], "chain": base["name"], "expr": [vmap]}}
    last = max(n for n, i in enumerate(items) if i.get("rule", {}).get("chain") == base["name"])
    items.insert(last, rule)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("port", "how"),
    [
        (3306, "tcp dport vmap { 3306 : accept }"),
        (6379, "tcp dport vmap @dataports (a named verdict map)"),
        (27017, "ip saddr . tcp dport vmap { 0.0.0.0/0 . 27017 : accept }"),
        (5432, "meta l4proto vmap { tcp : jump services } and services accepts 5432"),
    ],
)
def test_data_port_accepted_through_a_vmap_fails(make_facts, port, how):
    facts = make_facts(commands=lab_commands(nft=VMAP, ss=fixture("sockets/lab.txt") + listener(port)))
    result = run("NET-04", facts)
    assert_status(result, Status.FAIL)
    assert str(port) in result.message + " ".join(result.evidence), how


def concat_vmap(source: dict | str, port: int) -> dict:
    """``ip saddr . tcp dport vmap { <source> . <port> : accept }`` as nft -j prints it."""
    saddr, dport = {"payload": {"protocol": "ip", "field": "saddr"}}, {"payload": {"protocol": "tcp", "field": "dport"}}
    key = {"concat": [saddr, dport]}
    return {"vmap": {"key": key, "data": {"set": [[{"concat": [source, port]}, {"accept": None}]]}}}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"prefix": {"addr": "10.0.0.0", "len": 8}}, Status.PASS),
        ("192.0.2.7", Status.PASS),
        ({"prefix": {"addr": "0.0.0.0", "len": 0}}, Status.FAIL),
        ({"prefix": {"addr": "0.0.0.0", "len": 1}}, Status.FAIL),
        ({"range": ["0.0.0.0", "255.255.255.255"]}, Status.FAIL),
    ],
)
def test_vmap_source_spellings(make_facts, source, expected):
    nft = with_vmap_rule(concat_vmap(source, 9200))
    facts = make_facts(commands=lab_commands(nft=nft, ss=fixture("sockets/lab.txt") + listener(9200)))
    assert_status(run("NET-04", facts), expected)


def test_vmap_elements_become_rules():
    rules = parse_ruleset(VMAP)
    exposed = {port for port in (22, 80, 443, 3306, 5432, 6379, 9200, 27017) if port_exposure(rules, port)}
    assert exposed == {22, 80, 443, 3306, 5432, 6379, 27017}
    # ct state vmap { established : accept, ... } accepts only tracked traffic: nothing is opened by it.
    assert not port_exposure(rules, 8080)


def test_vmap_drop_of_a_port_is_a_drop(make_facts):
    nft = with_vmap_rule(
        {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": {"set": [[6379, {"drop": None}]]}}}
    )
    assert not port_exposure(parse_ruleset(nft), 6379)


def test_vmap_to_an_unknown_named_map_is_skipped_not_trusted(make_facts):
    """A vmap naming a map nft did not print cannot be judged: the rule is named as unparsed (error
    when it could hide a finding), never read as 'accepts nothing'."""
    nft = with_vmap_rule({"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": "@gone"}})
    facts = make_facts(commands=lab_commands(nft=nft, ss=fixture("sockets/lab.txt") + listener(6379)))
    assert run("NET-04", facts).status in (Status.ERROR, Status.FAIL)


@pytest.mark.parametrize(
    "vmap",
    [
        {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": {"set": [[6379]]}}},
        {"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": 17}},
        {"vmap": "tcp dport"},
    ],
)
def test_malformed_vmap_does_not_crash(make_facts, vmap):
    facts = make_facts(commands=lab_commands(nft=with_vmap_rule(vmap), ss=fixture("sockets/lab.txt") + listener(6379)))
    assert run("NET-04", facts).status in (Status.ERROR, Status.FAIL)
