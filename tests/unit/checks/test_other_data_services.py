"""ODB-01..03: not applicable unless the service is present; config-only judgement."""

from __future__ import annotations

import pytest
from check_helpers import GARBAGE, assert_status, fixture, lab_commands, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.checks.other_data_services import MYSQL_SQL
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

COOKIE = "/var/lib/rabbitmq/.erlang.cookie"
RABBIT_CONF = "/etc/rabbitmq/rabbitmq.conf"
CH_USERS = "/etc/clickhouse-server/users.xml"
CH_CONFIG = "/etc/clickhouse-server/config.xml"
MYSQL = ("mysql", "-NBe")
SAFE_USERS = """<clickhouse><users><default>
<password_sha256_hex>65e84be33532fb784c48129675f9eff3a682b27168c0ea744b2cf58ee02337c5</password_sha256_hex>
<networks><ip>::/0</ip></networks></default></users></clickhouse>"""
OPEN_USERS = (
    "<clickhouse><users><default><password></password><networks><ip>::/0</ip></networks></default></users></clickhouse>"
)
LOCAL_USERS = (
    "<clickhouse><users><default><password></password>"
    "<networks><ip>::1</ip><ip>127.0.0.1</ip></networks></default></users></clickhouse>"
)


@pytest.mark.parametrize("check_id", ["ODB-01", "ODB-02", "ODB-03"])
def test_absent_services_are_not_applicable(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands())), Status.NOT_APPLICABLE)


def test_a_mysql_client_library_alone_is_not_a_server(make_facts):
    # issue 13: ClickHouse pulls in libmariadb3, whose mysql-common ships /etc/mysql; no server runs.
    files = {"/etc/mysql/my.cnf.fallback": "[client-server]\n", "/etc/mysql/mariadb.cnf": "[client-server]\n"}
    assert_status(run("ODB-03", make_facts(commands=lab_commands(), files=files)), Status.NOT_APPLICABLE)


def test_a_mysql_server_binary_without_a_unit_is_still_judged(make_facts):
    commands = lab_commands()
    commands[(*MYSQL, MYSQL_SQL)] = "1\t0\t0\t0\n"
    result = run("ODB-03", make_facts(commands=commands, files={"/usr/sbin/mariadbd": "ELF"}))
    assert_status(result, Status.FAIL)


def rabbit_facts(make_facts, conf="loopback_users.guest = true\n", cookie_mode=0o400, ss=None):
    files = {RABBIT_CONF: conf, COOKIE: ("COOKIE", cookie_mode)}
    commands = lab_commands(systemctl=systemctl_show(active=["rabbitmq-server.service"]), **({"ss": ss} if ss else {}))
    return make_facts(commands=commands, files=files)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, Status.PASS),
        ({"conf": "loopback_users = none\n"}, Status.FAIL),
        ({"cookie_mode": 0o644}, Status.FAIL),
        ({"ss": fixture("sockets/lab.txt") + "tcp LISTEN 0 128 0.0.0.0:15672 0.0.0.0:*\n"}, Status.FAIL),
        ({"ss": GARBAGE}, Status.ERROR),
    ],
)
def test_rabbitmq(make_facts, kwargs, expected):
    assert_status(run("ODB-01", rabbit_facts(make_facts, **kwargs)), expected)


@pytest.mark.parametrize(
    ("users", "listen", "expected"),
    [
        (SAFE_USERS, "127.0.0.1", Status.PASS),
        (LOCAL_USERS, "::", Status.FAIL),
        (LOCAL_USERS, "10.0.0.5", Status.PASS),
        (OPEN_USERS, "10.0.0.5", Status.FAIL),
        ("<clickhouse><users>", "10.0.0.5", Status.ERROR),
    ],
)
def test_clickhouse(make_facts, users, listen, expected):
    config = f"<clickhouse><users_config>users.xml</users_config><listen_host>{listen}</listen_host></clickhouse>"
    files = {CH_USERS: users, CH_CONFIG: config}
    commands = lab_commands(systemctl=systemctl_show(active=["clickhouse-server.service"]))
    assert_status(run("ODB-02", make_facts(commands=commands, files=files)), expected)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("0\t0\t0\t0\n", Status.PASS),
        ("1\t0\t1\t1\n", Status.FAIL),
        ("ERROR 1045\n", Status.ERROR),
        ((1, "", "ERROR 2002 (HY000): Can't connect"), Status.ERROR),
    ],
)
def test_mysql(make_facts, output, expected):
    from ansible_collections.rampart.hardening.plugins.module_utils.checks.other_data_services import (  # noqa: PLC0415
        MYSQL_SQL,
    )

    commands = lab_commands(systemctl=systemctl_show(active=["mariadb.service"]))
    commands[(*MYSQL, MYSQL_SQL)] = output
    assert_status(run("ODB-03", make_facts(commands=commands)), expected)
