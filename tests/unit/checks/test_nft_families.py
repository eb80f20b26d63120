"""Only ip, ip6 and inet chains filter the IP traffic that reaches the host's sockets.

A ``bridge`` table's input hook sees frames bridged to the host, an ``arp`` table's only ARP;
neither filters a TCP connection to sshd or PostgreSQL. Fixtures are nft 1.0.6 ``-j`` output of the
``.nft`` files beside them: Debian's stock /etc/nftables.conf (an empty inet input chain, policy
accept) plus bridge and arp tables; and a bridge table alone.
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

STOCK_PLUS = fixture("firewall/stock-plus-bridge-arp.json")
BRIDGE_ONLY = fixture("firewall/bridge-only.json")
PG_PUBLIC = 'tcp LISTEN 0 244 0.0.0.0:5432 0.0.0.0:* users:(("postgres",pid=7,fd=6))\n'


@pytest.mark.parametrize("nft", [STOCK_PLUS, BRIDGE_ONLY])
@pytest.mark.parametrize("check_id", ["NET-01", "NET-02", "NET-04", "NET-05"])
def test_bridge_and_arp_chains_filter_no_ip_traffic(make_facts, nft, check_id):
    facts = make_facts(commands=lab_commands(nft=nft, ss=fixture("sockets/lab.txt") + PG_PUBLIC))
    assert_status(run(check_id, facts), Status.FAIL)


def test_evidence_names_the_ip_chains_only(make_facts):
    result = run("NET-01", make_facts(commands=lab_commands(nft=STOCK_PLUS)))
    assert_status(result, Status.FAIL)
    assert not any("bridge" in line or "arp " in line for line in [result.message, *result.evidence])
