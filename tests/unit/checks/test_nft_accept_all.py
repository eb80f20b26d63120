"""A chain with policy drop that accepts everything in a rule first is no default drop.

Fixtures (nft 1.0.6 ``-j`` output of the ``.nft`` files beside them):
- v6-accept-all: ``meta nfproto ipv6 accept`` in an inet chain with policy drop: IPv6 is unfiltered;
- world-accept-all: ``ip saddr 0.0.0.0/0 counter accept``: every IPv4 packet is accepted;
- jump-accept-all: ``jump trusted`` where chain trusted is a bare ``accept``.
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status


def facts_for(make_facts, name: str):
    return make_facts(commands=lab_commands(nft=fixture(f"firewall/{name}.json")))


@pytest.mark.parametrize(
    ("name", "check_id"),
    [
        ("v6-accept-all", "NET-05"),
        ("v6-accept-all", "NET-02"),
        ("world-accept-all", "NET-02"),
        ("jump-accept-all", "NET-02"),
        ("jump-accept-all", "NET-05"),
    ],
)
def test_accept_everything_rule_is_no_default_drop(make_facts, name, check_id):
    result = run(check_id, facts_for(make_facts, name))
    assert_status(result, Status.FAIL)


def test_ipv4_only_accept_all_leaves_ipv6_filtered(make_facts):
    """world-accept-all opens IPv4 only (ip saddr): NET-05 (IPv6) still passes, NET-02 fails."""
    assert_status(run("NET-05", facts_for(make_facts, "world-accept-all")), Status.PASS)


def test_net02_names_the_rule(make_facts):
    result = run("NET-02", facts_for(make_facts, "world-accept-all"))
    assert "accepts every packet" in result.message
    assert "0.0.0.0/0" in result.message


def test_hardened_lab_still_drops_by_default(make_facts):
    for check_id in ("NET-02", "NET-05"):
        assert_status(run(check_id, make_facts(commands=lab_commands())), Status.PASS)
