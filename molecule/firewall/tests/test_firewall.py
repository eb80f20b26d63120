"""The firewall, tested with real packets from an allowed and a denied client (IPv4 and IPv6).

Runs after side_effect.yml, which applied a ruleset that blocked the management port and
watched the rollback timer restore the previous one: everything below therefore also
proves that the restored ruleset is the complete, good one.
"""

from __future__ import annotations

import json
import socket

import pytest
from labhosts import lab_host, must_run

TARGET = lab_host("rampart-firewall-target")
ALLOWED = lab_host("rampart-firewall-allowed")
DENIED = lab_host("rampart-firewall-denied")
TIMEOUT = 2


def addresses(host) -> tuple[str, str]:
    """The host's global IPv4 and IPv6 addresses on the lab network."""
    words = must_run(host, "hostname -I").split()
    v4 = next(w for w in words if "." in w)
    v6 = next(w for w in words if ":" in w and not w.startswith("fe80"))
    return v4, v6


TARGET_V4, TARGET_V6 = addresses(TARGET)


def targets(port: int) -> list[str]:
    return [f"{TARGET_V4}:{port}", f"[{TARGET_V6}]:{port}"]


def probe(client, *endpoints: str, sequential: bool = False, timeout: float = TIMEOUT):
    """Real TCP connects from ``client``; {endpoint: reachable} (list of pairs if sequential)."""
    flag = " --sequential" if sequential else ""
    out = must_run(client, f"lab-probe --timeout {timeout}{flag} " + " ".join(endpoints))
    return json.loads(out)


def test_allowed_client_reaches_declared_services_over_ipv4_and_ipv6() -> None:
    result = probe(ALLOWED, *targets(5432), *targets(80))
    assert all(result.values()), result


def test_denied_client_times_out_on_the_restricted_service() -> None:
    result = probe(DENIED, *targets(5432))
    assert not any(result.values()), result


def test_service_without_sources_is_open_to_both_clients() -> None:
    result = probe(DENIED, *targets(80))
    assert all(result.values()), result


@pytest.mark.parametrize("client", [ALLOWED, DENIED], ids=["allowed", "denied"])
def test_undeclared_port_is_closed_to_both_clients(client) -> None:
    # 8081 has a listener on the target; only the firewall stands in the way.
    local = "import socket; print(socket.create_connection(('127.0.0.1', 8081), 2).recv(64).decode())"
    assert "lab port 8081" in must_run(TARGET, f'python3 -c "{local}"')
    result = probe(client, *targets(8081))
    assert not any(result.values()), result


def test_denied_packets_are_counted() -> None:
    probe(DENIED, *targets(5432))
    ruleset = json.loads(must_run(TARGET, "nft -j list chain inet rampart input"))
    counters = [
        expr["counter"]["packets"]
        for item in ruleset["nftables"]
        if "rule" in item and item["rule"].get("comment") == "default deny"
        for expr in item["rule"]["expr"]
        if "counter" in expr
    ]
    assert counters, ruleset
    assert counters[0] > 0, counters


def test_management_port_answers_from_the_controller_and_the_clients() -> None:
    # The controller (this machine) reaches podman bridge addresses directly.
    for family, address in ((socket.AF_INET, TARGET_V4), (socket.AF_INET6, TARGET_V6)):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect((address, 22))
            assert sock.recv(64).startswith(b"lab port 22")
    for client in (ALLOWED, DENIED):
        assert all(probe(client, *targets(22)).values())


def test_ansible_connection_survives() -> None:
    # The connection is podman exec; the role's own probe covered the network path.
    assert must_run(TARGET, "systemctl is-active nftables.service").strip() == "active"


def test_rate_limit_is_per_source() -> None:
    # api: 6/minute per source, burst 2. A quick series of new connections from the
    # allowed client trips it ...
    series = probe(ALLOWED, *[f"{TARGET_V4}:8443"] * 8, sequential=True, timeout=1)
    answers = [ok for _, ok in series]
    assert answers[0] is True, series
    assert answers[-1] is False, series
    # ... while another source still gets through: the meter counts per address.
    assert probe(DENIED, f"{TARGET_V4}:8443")[f"{TARGET_V4}:8443"] is True


def test_docker_published_port_is_filtered_in_docker_user() -> None:
    # 8088 and 8089 are DNATed to a "container" (a network namespace), like docker -p.
    assert probe(ALLOWED, f"{TARGET_V4}:8088")[f"{TARGET_V4}:8088"] is True
    assert probe(DENIED, f"{TARGET_V4}:8088")[f"{TARGET_V4}:8088"] is False
    # 8089 is published but declared by no service: dropped for everyone.
    for client in (ALLOWED, DENIED):
        assert probe(client, f"{TARGET_V4}:8089")[f"{TARGET_V4}:8089"] is False
    rules = must_run(TARGET, "iptables -w -S DOCKER-USER")
    assert "--ctorigdstport 8088" in rules


def test_table_the_role_does_not_own_survives() -> None:
    assert "not rampart's" in must_run(TARGET, "nft list table inet foreign")
    # Docker's tables (iptables-nft) survive too: the DNAT still exists.
    assert "172.31.250.2:80" in must_run(TARGET, "iptables -w -t nat -S PREROUTING")


def test_ruleset_is_inet_so_ipv6_is_filtered_too() -> None:
    tables = must_run(TARGET, "nft list tables")
    assert "table inet rampart" in tables
    chain = must_run(TARGET, "nft list chain inet rampart input")
    assert "policy drop" in chain
    assert "ip6 saddr" in chain


def test_ruleset_persists_across_a_service_restart_without_flushing_others() -> None:
    before = must_run(TARGET, "nft -s -t list table inet rampart")
    must_run(TARGET, "nft -c -f /etc/nftables.conf")
    assert must_run(TARGET, "systemctl is-enabled nftables.service").strip() == "enabled"
    # stop deletes only rampart's table (the unit's flush is overridden); start loads the file.
    must_run(TARGET, "systemctl stop nftables.service")
    assert "table inet rampart" not in must_run(TARGET, "nft list tables")
    assert "table inet foreign" in must_run(TARGET, "nft list tables")
    must_run(TARGET, "systemctl start nftables.service")
    assert must_run(TARGET, "nft -s -t list table inet rampart") == before
    assert "table inet foreign" in must_run(TARGET, "nft list tables")


def test_rollback_left_nothing_pending_and_nothing_persisted() -> None:
    assert "rolled back table inet rampart" in must_run(TARGET, "cat /var/lib/rampart/firewall/rollback.log")
    timers = TARGET.run("systemctl is-active rampart-firewall-rollback.timer").stdout.strip()
    assert timers != "active"
    # The blocking ruleset was never persisted for the next boot.
    assert "192.0.2.0" not in must_run(TARGET, "cat /etc/nftables.d/rampart.nft")


def test_intent_file_records_services_and_sources() -> None:
    intent_file = TARGET.file("/etc/rampart/intent/firewall.json")
    assert intent_file.mode == 0o600
    assert intent_file.user == "root"
    intent = json.loads(intent_file.content_string)
    allowed_v4, allowed_v6 = addresses(ALLOWED)
    services = {s["name"]: s for s in intent["services"]}
    assert services["postgresql"]["ports"] == [5432]
    assert set(services["postgresql"]["sources"]) == {allowed_v4, allowed_v6}
    assert services["http"]["sources"] == ["any"]
    assert services["api"]["rate_limit"] == "6/minute"
    assert intent["input_policy"] == "drop"
    assert intent["ipv6"] is True
    assert 22 in intent["management"]["ports"]
