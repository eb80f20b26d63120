"""sshd -T, nft -j, ss, sysctl, pg_hba, redis, htpasswd and system output parsers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.htpasswd import hash_scheme, parse_htpasswd
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nftables import parse_ruleset
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.pg_hba import from_file_rules, parse_hba
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.redis import (
    parse_acl_line,
    parse_acl_list,
    parse_redis_conf,
)
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sockets import parse_ss
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sshd import first, parse_sshd_t
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sysctl import parse_sysctl
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.system import (
    parse_dpkg,
    parse_passwd,
    parse_ps,
    parse_shadow,
    parse_systemctl_show,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def read(relative: str) -> str:
    return (FIXTURES / relative).read_text()


def test_sshd_t():
    config = parse_sshd_t(read("ssh/stock-debian.txt"))
    assert first(config, "passwordauthentication") == "yes"
    assert len(config["hostkey"]) >= 2  # repeated keys accumulate
    with pytest.raises(ParseError, match="missing"):
        parse_sshd_t("port 22\n")
    with pytest.raises(ParseError):
        parse_sshd_t("<html>oops</html>\n")


def test_nft_default_drop_ruleset():
    rules = parse_ruleset(read("firewall/default-drop.json"))
    (chain,) = rules.base_chains("input")
    assert (chain.family, chain.policy) == ("inet", "drop")
    by_text = {r.text: r for r in chain.rules}
    web = next(r for r in chain.rules if r.dports == [(22, 22), (80, 80), (443, 443)])
    assert web.verdict == "accept"
    assert not web.source_restricted
    pg = next(r for r in chain.rules if r.matches_port(5432) and r.dports is not None)
    assert pg.source_restricted
    meter = next(r for r in chain.rules if r.rate_limited)
    assert meter.matches_port(22)
    assert meter.verdict == "drop"
    assert any(r.log for r in by_text.values())
    assert next(r for r in chain.rules if r.protocols == {"icmp"}).verdict == "accept"


def test_nft_jumps_are_followed():
    table = {"family": "ip", "table": "filter"}
    dport = {"payload": {"protocol": "tcp", "field": "dport"}}
    document = {
        "nftables": [
            {"table": {"family": "ip", "name": "filter"}},
            {"chain": {**table, "name": "INPUT", "hook": "input", "policy": "accept"}},
            {"chain": {**table, "name": "ufw-user-input"}},
            {"rule": {**table, "chain": "INPUT", "expr": [{"jump": {"target": "ufw-user-input"}}]}},
            {
                "rule": {
                    **table,
                    "chain": "ufw-user-input",
                    "expr": [
                        {"match": {"op": "==", "left": dport, "right": {"range": [8000, 8010]}}},
                        {"accept": None},
                    ],
                }
            },
        ]
    }
    rules = parse_ruleset(json.dumps(document))
    flat = rules.reachable_rules(rules.base_chains("input")[0])
    assert [r.verdict for r in flat] == ["jump", "accept"]
    assert flat[1].matches_port(8005)
    assert not flat[1].matches_port(8011)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        read("firewall/default-drop.json")[:500],
        '{"nft": []}',
        '{"nftables": [{"rule": {"family": "x"}}]}',
    ],
)
def test_nft_garbage(text):
    with pytest.raises(ParseError):
        parse_ruleset(text)


def test_ss_lab_output():
    listeners = parse_ss(read("sockets/lab.txt"))
    redis6 = next(item for item in listeners if item.port == 6379 and ":" in item.address)
    assert redis6.is_loopback
    assert redis6.process is None
    nginx = next(item for item in listeners if item.port == 443 and item.address == "0.0.0.0")
    assert (nginx.process, nginx.pid, nginx.is_wildcard, nginx.is_loopback) == ("nginx", 1892, True, False)
    resolved = parse_ss("udp UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:*\nudp UNCONN 0 0 [fe80::1%eth0]:546 [::]:*\n")
    assert resolved[0].interface == "lo"
    assert resolved[0].is_loopback
    assert (resolved[1].address, resolved[1].interface) == ("fe80::1", "eth0")
    with pytest.raises(ParseError):
        parse_ss("Netid State Recv-Q Send-Q\n")


def test_sysctl():
    values = parse_sysctl(read("sysctl/lab.txt"))
    assert values["kernel.randomize_va_space"] == "2"
    with pytest.raises(ParseError):
        parse_sysctl("garbage without equals\n")
    with pytest.raises(ParseError):
        parse_sysctl("")


def test_pg_hba_text_and_file_rules():
    text = (
        "local all postgres peer\n"
        'host "all" all 10.0.0.0 255.0.0.0 scram-sha-256 # app\n'
        "hostssl app app 0.0.0.0/0 md5\n"
    )
    rules = parse_hba(text)
    assert [r.address for r in rules] == [None, "10.0.0.0/8", "0.0.0.0/0"]
    assert [r.is_remote for r in rules] == [False, True, True]
    snapshot = json.loads(read("postgresql/snapshot-debian.json"))
    rows = from_file_rules(snapshot["hba"])
    assert rows[2].address == "127.0.0.1/32"
    assert not rows[2].is_remote
    assert not rows[3].is_remote  # ::1 with an IPv6 netmask
    for bad in ("hots all all 1.2.3.4/32 trust\n", "host all all\n", "host all all 1.2.3.4/32 magic\n"):
        with pytest.raises(ParseError):
            parse_hba(bad)
    with pytest.raises(ParseError, match="invalid"):
        from_file_rules([{"line": 5, "error": "invalid authentication method"}])


def test_redis_conf_and_acl():
    config = parse_redis_conf(read("redis/hardened.conf"), "/etc/redis/redis.conf")
    assert config.get("bind") == "127.0.0.1 -::1"
    assert config.get("aclfile") == "/etc/redis/users.acl"
    assert "redis.conf:" in config.evidence("bind")
    users = {u.name: u for u in parse_acl_list(read("redis/users.acl"))}
    assert not users["default"].enabled
    assert users["app"].dangerous_grants() == []
    assert not users["app"].all_keys
    assert users["admin"].dangerous_grants() == ["+@all"]
    listed = {u.name: u for u in parse_acl_list(read("redis/acl-list-hardened.txt"))}
    assert listed["app"].dangerous_grants() == []
    reset = parse_acl_line("user x on >pw ~* +@all reset")
    assert (reset.enabled, reset.passwords, reset.all_commands) == (False, [], False)
    with pytest.raises(ParseError):
        parse_acl_list("default on nopass\n")
    with pytest.raises(ParseError):
        parse_redis_conf('bind "127.0.0.1\n')


@pytest.mark.parametrize(
    ("value", "scheme", "strong"),
    [
        ("$2y$05$abcdefghijklmnopqrstuu", "bcrypt", True),
        ("$argon2id$v=19$m=65536,t=3,p=4$abc$def", "argon2", True),
        ("$6$salt$hash", "sha512-crypt", True),
        ("$y$j9T$salt$hash", "yescrypt", True),
        ("$5$salt$hash", "sha256-crypt", False),
        ("$apr1$salt$hash", "md5-apr1", False),
        ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "sha1", False),
        ("abJnggxhB/yJU", "crypt", False),
        ("hunter2", "plain", False),
    ],
)
def test_htpasswd_schemes(value, scheme, strong):
    assert hash_scheme(value) == scheme
    (entry,) = parse_htpasswd(f"# comment\nuser:{value}:optional comment\n")
    assert (entry.scheme, entry.strong, entry.line) == (scheme, strong, 2)


def test_htpasswd_garbage_and_empty_password():
    assert parse_htpasswd("user:\n")[0].scheme == "empty"
    with pytest.raises(ParseError):
        parse_htpasswd("no colon here\n")


def test_system_outputs():
    units = parse_systemctl_show(read("systemd/show-lab.txt"))
    assert units["nginx.service"].active
    assert units["nginx.service"].exists
    assert "docker.service" in units
    assert not units["docker.service"].exists
    packages = parse_dpkg(read("packages/dpkg-lab.txt"))
    assert packages["nginx"].installed
    processes = parse_ps(read("systemd/ps-lab.txt"))
    assert {p.command for p in processes} >= {"nginx", "redis-server", "postgres", "sshd"}
    accounts = parse_passwd("root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n")
    assert accounts["root"].can_login
    assert not accounts["www-data"].can_login
    assert parse_shadow("root:!:1::::::\n") == {"root": "!"}
    for parser, bad in (
        (parse_systemctl_show, "no equals sign\n"),
        (parse_systemctl_show, "Id=x.service\n"),
        (parse_dpkg, "nginx 1.0\n"),
        (parse_ps, "root 12 init\n"),
        (parse_passwd, "root:x:0\n"),
        (parse_shadow, "justaname\n"),
    ):
        with pytest.raises(ParseError):
            parser(bad)
