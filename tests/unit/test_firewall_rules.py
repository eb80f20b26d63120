"""The firewall role's filters: presets, @sets, IPv4/IPv6 split, port rendering, intent."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.hardening.plugins.filter.firewall_rules import (
    FilterModule,
    firewall_intent,
    firewall_ports,
    firewall_services,
    firewall_split_cidrs,
)

PRESETS = {"ssh": {"ports": [22], "protocol": "tcp"}, "postgresql": {"ports": [5432]}}
SETS = {"app_tier": ["10.0.1.0/24", "fd00:1::/64"]}


def test_preset_supplies_ports_and_protocol() -> None:
    (svc,) = firewall_services([{"name": "ssh"}], PRESETS, SETS)
    assert svc["ports"] == ["22"]
    assert svc["protocol"] == "tcp"
    assert svc["any_source"] is True
    assert svc["sources"] == []


def test_set_reference_expands_and_splits_by_family() -> None:
    (svc,) = firewall_services([{"name": "postgresql", "sources": ["@app_tier", "192.0.2.7"]}], PRESETS, SETS)
    assert svc["sources_v4"] == ["10.0.1.0/24", "192.0.2.7"]
    assert svc["sources_v6"] == ["fd00:1::/64"]
    assert svc["any_source"] is False


def test_explicit_values_override_the_preset() -> None:
    (svc,) = firewall_services([{"name": "ssh", "ports": [2222], "rate_limit": "10/minute"}], PRESETS, SETS)
    assert svc["ports"] == ["2222"]
    assert svc["rate_limit"] == "10/minute"
    assert svc["rate_burst"] == 5


def test_port_ranges_are_kept() -> None:
    (svc,) = firewall_services([{"name": "app", "ports": ["8000-8100", 9000, 9000]}], PRESETS, SETS)
    assert svc["ports"] == ["8000-8100", "9000"]


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ([{"name": "custom"}], "no ports"),
        ([{"name": "app", "ports": [0]}], "not a port"),
        ([{"name": "app", "ports": ["9-3"]}], "not a port"),
        ([{"name": "app", "ports": [True]}], "not a port"),
        ([{"name": "app", "ports": [80], "protocol": "icmp"}], "not tcp or udp"),
        ([{"name": "app", "ports": [80], "sources": ["@nope"]}], "not defined"),
        ([{"name": "app", "ports": [80], "sources": ["10.0.0.300/8"]}], "not a CIDR"),
        ([{"name": "Bad Name", "ports": [80]}], "name must match"),
        ([{"name": "app", "ports": [80]}, {"name": "app", "ports": [81]}], "duplicate"),
        ([{"ports": [80]}], "needs a name"),
    ],
)
def test_bad_declarations_are_refused_with_the_variable_named(services, message) -> None:
    with pytest.raises(AnsibleFilterError, match=message) as error:
        firewall_services(services, PRESETS, SETS)
    assert "rampart_firewall_services[" in str(error.value)


def test_outbound_rules_read_destinations() -> None:
    (rule,) = firewall_services(
        [{"name": "db", "ports": [5432], "destinations": ["@app_tier"]}],
        {},
        SETS,
        address_key="destinations",
        variable="rampart_firewall_output_allow",
    )
    assert rule["sources_v6"] == ["fd00:1::/64"]
    with pytest.raises(AnsibleFilterError, match=r"rampart_firewall_output_allow\[0\]"):
        firewall_services([{"name": "x"}], {}, SETS, variable="rampart_firewall_output_allow")


def test_split_normalises_hosts_and_deduplicates() -> None:
    assert firewall_split_cidrs(["10.0.0.5/32", "10.0.0.5", "10.0.0.9/24", "::1"]) == {
        "v4": ["10.0.0.5", "10.0.0.0/24"],
        "v6": ["::1"],
    }
    assert firewall_split_cidrs(None) == {"v4": [], "v6": []}
    with pytest.raises(AnsibleFilterError):
        firewall_split_cidrs(["nonsense"])


def test_ports_render_for_nftables() -> None:
    assert firewall_ports([22]) == "22"
    assert firewall_ports(["22", 22]) == "22"
    assert firewall_ports([80, 443]) == "{ 80, 443 }"
    assert firewall_ports(["8000-8100"]) == "{ 8000-8100 }"
    with pytest.raises(AnsibleFilterError):
        firewall_ports([])


def test_intent_keeps_what_the_audit_needs() -> None:
    (svc,) = firewall_services([{"name": "postgresql", "sources": ["@app_tier"]}], PRESETS, SETS)
    assert firewall_intent(svc) == {
        "name": "postgresql",
        "protocol": "tcp",
        "ports": [5432],
        "sources": ["10.0.1.0/24", "fd00:1::/64"],
        "rate_limit": None,
        "docker": False,
    }
    (anywhere,) = firewall_services([{"name": "web", "ports": ["8000-8100"]}], PRESETS, SETS)
    assert firewall_intent(anywhere)["sources"] == ["any"]
    assert firewall_intent(anywhere)["ports"] == ["8000-8100"]


def test_filter_module_exports_every_filter() -> None:
    assert set(FilterModule().filters()) == {
        "firewall_services",
        "firewall_split_cidrs",
        "firewall_ports",
        "firewall_intent",
    }
