"""RDS-01..06 from redis.conf and ACL files captured on the lab (Redis 7.0, Debian 12)."""

from __future__ import annotations

import pytest
from check_helpers import GARBAGE, LAB_PASSWD, REDIS_PING, assert_status, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

RDS_IDS = [f"RDS-{n:02d}" for n in range(1, 7)]
CONF = "/etc/redis/redis.conf"
ACL = "/etc/redis/users.acl"
HARDENED_CONF = fixture("redis/hardened.conf")
STOCK_CONF = fixture("redis/stock-debian.conf")
USERS = fixture("redis/users.acl")
NOAUTH = "NOAUTH Authentication required.\n"


def redis_facts(make_facts, *, conf=HARDENED_CONF, acl=USERS, ping=NOAUTH, files=None, ps=None):
    tree = {CONF: (conf, 0o640), "/etc/passwd": LAB_PASSWD, **({ACL: (acl, 0o640)} if acl is not None else {})}
    tree.update(files or {})
    commands = lab_commands(redis_ping=ping, **({"ps": ps} if ps is not None else {}))
    return make_facts(commands=commands, files=tree)


@pytest.mark.parametrize("check_id", RDS_IDS)
def test_hardened_redis_passes(make_facts, check_id):
    assert_status(run(check_id, redis_facts(make_facts)), Status.PASS)


@pytest.mark.parametrize("check_id", RDS_IDS)
def test_no_redis_is_not_applicable(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands())), Status.NOT_APPLICABLE)


@pytest.mark.parametrize("check_id", RDS_IDS)
@pytest.mark.parametrize(
    ("conf", "acl"),
    [
        (GARBAGE, USERS),
        ('bind "127.0.0.1\n', USERS),
    ],
    ids=["garbage-conf", "unterminated-quote"],
)
def test_unreadable_config_is_an_error(make_facts, check_id, conf, acl):
    assert_status(run(check_id, redis_facts(make_facts, conf=conf, acl=acl)), Status.ERROR)


@pytest.mark.parametrize("acl", ["user app on ~x\nnot an acl line\n", None], ids=["garbage-acl", "missing-aclfile"])
def test_unreadable_acl_errors_only_the_checks_that_read_users(make_facts, acl):
    """One unreadable item is one error: the ACL users, not the whole redis.conf."""
    facts = redis_facts(make_facts, acl=acl)
    for check_id in ("RDS-02", "RDS-04"):
        result = run(check_id, facts)
        assert_status(result, Status.ERROR)
        assert "acl" in result.message.lower()
    for check_id in ("RDS-01", "RDS-03", "RDS-05"):  # RDS-03 is judged from the unauthenticated PING
        assert run(check_id, facts).status is not Status.ERROR, check_id


def test_stock_debian_default_user_is_open(make_facts):
    facts = redis_facts(make_facts, conf=STOCK_CONF, acl=None, ping="PONG\n")
    assert_status(run("RDS-01", facts), Status.PASS)  # Debian binds loopback
    assert_status(run("RDS-02", facts), Status.FAIL)
    assert_status(run("RDS-03", facts), Status.FAIL)
    assert_status(run("RDS-04", facts), Status.NOT_APPLICABLE)


@pytest.mark.parametrize(
    ("old", "new", "expected", "needle"),
    [
        ("bind 127.0.0.1 -::1", "bind 0.0.0.0", Status.FAIL, "wildcard"),
        ("bind 127.0.0.1 -::1", "bind 127.0.0.1 10.0.0.5", Status.FAIL, "without TLS"),
        ("port 6379", "port 0\ntls-port 6380", Status.PASS, ""),
        ("protected-mode yes", "protected-mode no", Status.FAIL, "protected-mode"),
    ],
)
def test_bind_and_protected_mode(make_facts, old, new, expected, needle):
    conf = HARDENED_CONF.replace(old, new)
    if old == "port 6379":  # TLS-only listener on a private address
        conf = conf.replace("bind 127.0.0.1 -::1", "bind 127.0.0.1 10.0.0.5")
    result = run("RDS-01", redis_facts(make_facts, conf=conf))
    assert_status(result, expected)
    assert needle in result.message + " ".join(result.evidence)


@pytest.mark.parametrize(
    ("default_line", "expected"),
    [
        ("user default on nopass ~* &* +@all", Status.FAIL),
        ("user default on >short ~* &* +@all", Status.FAIL),
        ("user default on >a-very-long-generated-secret-123 ~* &* +@all", Status.PASS),
        ("user default on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~* +@all", Status.PASS),
    ],
)
def test_default_user(make_facts, default_line, expected):
    acl = USERS.replace("user default off nopass sanitize-payload ~* &* +@all", default_line)
    assert_status(run("RDS-02", redis_facts(make_facts, acl=acl)), expected)


def test_requirepass_protects_implicit_default_user(make_facts):
    conf = STOCK_CONF + "requirepass a-very-long-generated-secret-123\n"
    assert_status(run("RDS-02", redis_facts(make_facts, conf=conf, acl=None)), Status.PASS)


@pytest.mark.parametrize(
    ("ping", "acl_default", "expected"),
    [
        ("PONG\n", "off", Status.FAIL),
        ("Could not connect to Redis at 127.0.0.1:6379: Connection refused\n", "off", Status.PASS),
        ("Could not connect to Redis at 127.0.0.1:6379: Connection refused\n", "on", Status.FAIL),
    ],
)
def test_unauthenticated_ping(make_facts, ping, acl_default, expected):
    acl = USERS.replace("user default off nopass", f"user default {acl_default} nopass")
    assert_status(run("RDS-03", redis_facts(make_facts, acl=acl, ping=ping)), expected)


def test_ping_goes_to_the_first_bind_address(make_facts):
    facts = redis_facts(make_facts)
    run("RDS-03", facts)
    assert REDIS_PING in facts.runner.calls


@pytest.mark.parametrize(
    ("app_rules", "expected"),
    [
        ("~app:* resetchannels -@all +@read +@write +@connection -@dangerous", Status.PASS),
        ("~app:* +@all", Status.FAIL),
        ("~app:* +@all -@dangerous", Status.PASS),
        ("~app:* -@all +@read +flushall", Status.FAIL),
        ("~* -@all +@read", Status.PARTIAL),
    ],
)
def test_application_users(make_facts, app_rules, expected):
    acl = "\n".join(
        line if not line.startswith("user app ") else f"user app on #{'0' * 64} {app_rules}"
        for line in USERS.splitlines()
    )
    assert_status(run("RDS-04", redis_facts(make_facts, acl=acl)), expected)


def test_acl_list_output_is_understood(make_facts):
    """The expanded form printed by ACL LIST (captured on the lab) parses like the file."""
    assert_status(run("RDS-04", redis_facts(make_facts, acl=fixture("redis/acl-list-hardened.txt"))), Status.PASS)


@pytest.mark.parametrize("name", ["enable-protected-configs", "enable-debug-command", "enable-module-command"])
def test_dangerous_switches_fail(make_facts, name):
    result = run("RDS-05", redis_facts(make_facts, conf=HARDENED_CONF + f"{name} yes\n"))
    assert_status(result, Status.FAIL)
    assert name in result.message


def test_root_process_and_loose_acl_file_fail(make_facts):
    ps = fixture("systemd/ps-lab.txt").replace(
        "  101    3925 /usr/bin/redis-server", "    0    3925 /usr/bin/redis-server"
    )
    result = run("RDS-06", redis_facts(make_facts, ps=ps))
    assert_status(result, Status.FAIL)
    assert "root" in result.message
    loose = run("RDS-06", redis_facts(make_facts, files={ACL: (USERS, 0o644)}))
    assert_status(loose, Status.FAIL)


def test_declared_dangerous_command_is_partial(make_facts):
    acl = "\n".join(
        line
        if not line.startswith("user app ")
        else f"user app on #{'0' * 64} ~app:* -@all +@read -@dangerous +flushdb"
        for line in USERS.splitlines()
    )
    facts = redis_facts(make_facts, acl=acl)
    assert_status(run("RDS-04", facts), Status.FAIL)
    intent = '{"admin_user": "admin", "users": [{"name": "app", "dangerous_allowed": ["flushdb"]}]}'
    facts = redis_facts(make_facts, acl=acl, files={"/etc/rampart/intent/redis.json": intent})
    assert_status(run("RDS-04", facts), Status.PARTIAL)


def test_declared_private_bind_from_intent(make_facts):
    conf = HARDENED_CONF.replace("bind 127.0.0.1 -::1", "bind 127.0.0.1 10.0.0.5")
    intent = '{"bind": ["127.0.0.1", "10.0.0.6"], "allow_plaintext_remote": true}'
    result = run("RDS-01", redis_facts(make_facts, conf=conf, files={"/etc/rampart/intent/redis.json": intent}))
    assert_status(result, Status.PARTIAL)
    assert "10.0.0.5" in result.message
