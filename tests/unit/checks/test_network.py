"""NET-01..07 against real nft -j / ss / sysctl outputs from the lab and variations of them."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from check_helpers import GARBAGE, assert_status, fixture, lab_commands, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

DEFAULT_DROP = fixture("firewall/default-drop.json")
EMPTY = fixture("firewall/empty.json")
SS_LAB = fixture("sockets/lab.txt")
TRUNCATED = DEFAULT_DROP[: len(DEFAULT_DROP) // 2]
REDIS_PUBLIC = 'tcp LISTEN 0 511 0.0.0.0:6379 0.0.0.0:* users:(("redis-server",pid=9,fd=6))\n'


def ruleset(edit: Callable[[list[dict]], list[dict]]) -> str:
    document = json.loads(DEFAULT_DROP)
    document["nftables"] = edit(document["nftables"])
    return json.dumps(document)


def set_input_policy(policy: str) -> Callable[[list[dict]], list[dict]]:
    def edit(items: list[dict]) -> list[dict]:
        for item in items:
            if item.get("chain", {}).get("hook") == "input":
                item["chain"]["policy"] = policy
        return items

    return edit


def drop_rules(predicate: Callable[[dict], bool]) -> Callable[[list[dict]], list[dict]]:
    return lambda items: [i for i in items if not ("rule" in i and predicate(i["rule"]))]


def family(name: str) -> Callable[[list[dict]], list[dict]]:
    def edit(items: list[dict]) -> list[dict]:
        for item in items:
            for body in item.values():
                if isinstance(body, dict) and body.get("family") == "inet":
                    body["family"] = name
        return items

    return edit


def facts(make_facts, intent=None, **commands):
    return make_facts(commands=lab_commands(**commands), intent=intent)


@pytest.mark.parametrize("check_id", ["NET-01", "NET-02", "NET-03", "NET-04", "NET-05", "NET-07"])
def test_hardened_lab_passes(make_facts, check_id):
    assert_status(run(check_id, facts(make_facts)), Status.PASS)


@pytest.mark.parametrize("check_id", ["NET-01", "NET-02", "NET-05", "NET-06"])
@pytest.mark.parametrize("output", [GARBAGE, TRUNCATED, '{"nftables": [{"rule": {"family": "inet"}}]}'])
def test_malformed_ruleset_is_an_error(make_facts, check_id, output):
    systemctl = systemctl_show(active=["docker.service"]) if check_id == "NET-06" else systemctl_show()
    assert_status(run(check_id, facts(make_facts, nft=output, systemctl=systemctl)), Status.ERROR)


@pytest.mark.parametrize("check_id", ["NET-01", "NET-02", "NET-05"])
def test_empty_or_missing_firewall_fails(make_facts, check_id):
    assert_status(run(check_id, facts(make_facts, nft=EMPTY)), Status.FAIL)
    assert_status(run(check_id, facts(make_facts, nft=None)), Status.FAIL)


def test_rules_not_persistent_is_partial(make_facts):
    result = run("NET-01", facts(make_facts, systemctl=systemctl_show(inactive=["nftables.service"])))
    assert_status(result, Status.PARTIAL)


def test_accept_policy_fails_and_uncounted_drop_is_partial(make_facts):
    assert_status(run("NET-02", facts(make_facts, nft=ruleset(set_input_policy("accept")))), Status.FAIL)
    uncounted = ruleset(drop_rules(lambda r: any("log" in e or "counter" in e for e in r["expr"])))
    assert_status(run("NET-02", facts(make_facts, nft=uncounted)), Status.PARTIAL)


@pytest.mark.parametrize(
    ("extra", "intent", "expected"),
    [
        ('tcp LISTEN 0 128 0.0.0.0:8080 0.0.0.0:* users:(("python3",pid=7,fd=3))\n', None, Status.FAIL),
        (
            'tcp LISTEN 0 128 0.0.0.0:8080 0.0.0.0:* users:(("python3",pid=7,fd=3))\n',
            {"firewall": {"services": [{"name": "app", "protocol": "tcp", "ports": ["8000-8100"]}]}},
            Status.PASS,
        ),
        ("udp UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:*\n", None, Status.PASS),
    ],
)
def test_socket_allowlist(make_facts, extra, intent, expected):
    if intent:
        intent["firewall"]["management"] = {"ports": [22]}
        intent["nginx"] = {"tls_profile": "intermediate"}
    assert_status(run("NET-03", facts(make_facts, intent=intent, ss=SS_LAB + extra)), expected)


@pytest.mark.parametrize("check_id", ["NET-03", "NET-04"])
def test_garbage_ss_is_an_error(make_facts, check_id):
    assert_status(run(check_id, facts(make_facts, ss=GARBAGE)), Status.ERROR)


def test_missing_ss_is_not_applicable(make_facts):
    assert_status(run("NET-03", facts(make_facts, ss=None)), Status.NOT_APPLICABLE)


@pytest.mark.parametrize(
    ("socket", "nft", "expected"),
    [
        (REDIS_PUBLIC, DEFAULT_DROP, Status.PASS),  # default drop, 6379 never accepted
        (REDIS_PUBLIC, EMPTY, Status.FAIL),  # no input chain
        (REDIS_PUBLIC, ruleset(set_input_policy("accept")), Status.FAIL),
        (REDIS_PUBLIC.replace(":6379", ":6380"), ruleset(set_input_policy("accept")), Status.FAIL),  # redis TLS
        (REDIS_PUBLIC.replace(":6379", ":6380"), DEFAULT_DROP, Status.PASS),
        ("tcp LISTEN 0 244 0.0.0.0:5432 0.0.0.0:*\n", DEFAULT_DROP, Status.PASS),  # saddr 10/8 only
        (
            "tcp LISTEN 0 244 0.0.0.0:5432 0.0.0.0:*\n",
            DEFAULT_DROP.replace('{"prefix": {"addr": "10.0.0.0", "len": 8}}', '"0.0.0.0"').replace(
                '"saddr"}}, "right": "0.0.0.0"', '"daddr"}}, "right": "0.0.0.0"'
            ),
            Status.FAIL,
        ),
    ],
)
def test_data_ports(make_facts, socket, nft, expected):
    result = run("NET-04", facts(make_facts, ss=SS_LAB + socket, nft=nft))
    assert_status(result, expected)


def test_ip_only_ruleset_leaves_ipv6_open(make_facts):
    result = run("NET-05", facts(make_facts, nft=ruleset(family("ip"))))
    assert_status(result, Status.FAIL)
    assert "IPv6" in result.message


def test_disabled_ipv6_passes_without_ruleset(make_facts):
    sysctl = fixture("sysctl/hardened.txt").replace(
        "net.ipv6.conf.all.disable_ipv6 = 0", "net.ipv6.conf.all.disable_ipv6 = 1"
    )
    assert_status(run("NET-05", facts(make_facts, nft=None, sysctl=sysctl)), Status.PASS)


DOCKER_USER = [
    {"table": {"family": "ip", "name": "filter", "handle": 9}},
    {"chain": {"family": "ip", "table": "filter", "name": "DOCKER", "handle": 1}},
    {"chain": {"family": "ip", "table": "filter", "name": "DOCKER-USER", "handle": 2}},
]
DOCKER_DROP = {
    "rule": {
        "family": "ip",
        "table": "filter",
        "chain": "DOCKER-USER",
        "handle": 3,
        "expr": [
            {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.0.0.0"}},
            {"drop": None},
        ],
    }
}


@pytest.mark.parametrize(
    ("items", "expected"),
    [([], Status.NOT_APPLICABLE), (DOCKER_USER, Status.FAIL), ([*DOCKER_USER, DOCKER_DROP], Status.PASS)],
)
def test_docker_user_chain(make_facts, items, expected):
    nft = ruleset(lambda existing: existing + items)
    assert_status(run("NET-06", facts(make_facts, nft=nft)), expected)


def test_stock_sysctls_fail_and_martians_only_is_partial(make_facts):
    result = run("NET-07", facts(make_facts, sysctl=fixture("sysctl/lab.txt")))
    assert_status(result, Status.FAIL)
    assert "ip_forward" in result.message
    martians = fixture("sysctl/hardened.txt").replace("all.log_martians = 1", "all.log_martians = 0")
    assert_status(run("NET-07", facts(make_facts, sysctl=martians)), Status.PARTIAL)


def test_declared_forwarding_is_accepted(make_facts):
    sysctl = fixture("sysctl/hardened.txt").replace("net.ipv4.ip_forward = 0", "net.ipv4.ip_forward = 1")
    assert_status(run("NET-07", facts(make_facts, sysctl=sysctl)), Status.FAIL)
    result = run("NET-07", facts(make_facts, sysctl=sysctl, intent={"firewall": {"forwarding": True}}))
    assert_status(result, Status.PASS)


def test_garbage_sysctl_is_an_error(make_facts):
    assert_status(run("NET-07", facts(make_facts, sysctl=GARBAGE)), Status.ERROR)
