"""ODB-01 and ODB-04 on RabbitMQ: files and command outputs captured on the lab broker
(Debian 12, RabbitMQ 3.10.8, converged by the rabbitmq role), then varied one spelling at a time."""

from __future__ import annotations

import json

import pytest
from check_helpers import GARBAGE, assert_status, fixture, lab_commands, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

COOKIE = "/var/lib/rabbitmq/.erlang.cookie"
CONF = "/etc/rabbitmq/rabbitmq.conf"
CONF_D = "/etc/rabbitmq/conf.d/90-local.conf"
ADVANCED = "/etc/rabbitmq/advanced.config"
LIST_USERS = ("rabbitmqctl", "-q", "list_users", "--formatter", "json")
HARDENED_CONF = fixture("rabbitmq/hardened.conf")
ADVANCED_CONFIG = fixture("rabbitmq/advanced.config")
USERS = fixture("rabbitmq/list_users.json")
USERS_WITH_GUEST = json.dumps([*json.loads(USERS), {"user": "guest", "tags": ["administrator"]}])
SS_BROKER = fixture("rabbitmq/ss.txt")
INTENT = json.loads(fixture("rabbitmq/intent.json"))
NODE_DOWN = (69, "", "Error: unable to perform an operation on node 'rabbit@localhost'.\n")


def broker(make_facts, *, conf=HARDENED_CONF, files=None, users=USERS, ss=SS_BROKER, intent=None, cookie=0o400):
    tree = {CONF: (conf, 0o640), ADVANCED: (ADVANCED_CONFIG, 0o640), COOKIE: ("COOKIE", cookie)}
    tree.update(files or {})
    commands = lab_commands(systemctl=systemctl_show(active=["rabbitmq-server.service"]), ss=ss)
    if users is not None:
        commands[LIST_USERS] = users
    return make_facts(commands=commands, files=tree, intent={"rabbitmq": intent} if intent is not None else None)


@pytest.mark.parametrize("check_id", ["ODB-01", "ODB-04"])
def test_no_rabbitmq_is_not_applicable(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands())), Status.NOT_APPLICABLE)


@pytest.mark.parametrize("check_id", ["ODB-01", "ODB-04"])
def test_the_role_s_broker_passes(make_facts, check_id):
    assert_status(run(check_id, broker(make_facts, intent=INTENT)), Status.PASS)


def test_guest_absent_is_seen_in_the_user_list(make_facts):
    result = run("ODB-01", broker(make_facts))
    assert any("rabbitmqctl list_users" in item and "guest" not in item for item in result.evidence), result.evidence


# --- ODB-01: guest from the network, in every spelling ---------------------------------------

GUEST_OPEN = [
    "loopback_users = none\n",
    "loopback_users.guest = false\n",
    "loopback_users.guest=false\n",
    # Any per-user key replaces the default list: guest is then open unless set to true.
    "loopback_users.admin = true\n",
    "loopback_users.guest = yes\n",
    # `none` wins over a per-user true.
    "loopback_users.guest = true\nloopback_users = none\n",
]


@pytest.mark.parametrize("spelling", GUEST_OPEN)
def test_guest_open_in_rabbitmq_conf_fails_while_guest_exists(make_facts, spelling):
    conf = HARDENED_CONF.replace("loopback_users.guest = true\n", "") + spelling
    assert_status(run("ODB-01", broker(make_facts, conf=conf, users=USERS_WITH_GUEST)), Status.FAIL)


def test_guest_open_in_config_fails_when_the_user_list_cannot_be_read(make_facts):
    conf = HARDENED_CONF + "loopback_users = none\n"
    result = run("ODB-01", broker(make_facts, conf=conf, users=NODE_DOWN))
    assert_status(result, Status.FAIL)
    assert any("list_users failed" in item for item in result.evidence), result.evidence


def test_guest_open_in_config_passes_when_guest_is_deleted(make_facts):
    conf = HARDENED_CONF + "loopback_users = none\n"
    assert_status(run("ODB-01", broker(make_facts, conf=conf, users=USERS)), Status.PASS)


def test_guest_open_in_a_conf_d_file_fails(make_facts):
    files = {CONF_D: "# local override\nloopback_users.guest = false\n"}
    assert_status(run("ODB-01", broker(make_facts, files=files, users=USERS_WITH_GUEST)), Status.FAIL)


@pytest.mark.parametrize(
    ("advanced", "expected"),
    [
        ("[{rabbit, [{loopback_users, []}]}].\n", Status.FAIL),
        ('[{rabbit, [{loopback_users, [<<"admin">>]}]}].\n', Status.FAIL),
        ('[{rabbit, [{loopback_users, [<<"guest">>]}]}].\n', Status.PASS),
        ("%% [{rabbit, [{loopback_users, []}]}].\n[].\n", Status.PASS),
    ],
)
def test_loopback_users_in_advanced_config(make_facts, advanced, expected):
    facts = broker(make_facts, files={ADVANCED: advanced}, users=USERS_WITH_GUEST)
    assert_status(run("ODB-01", facts), expected)


def test_guest_loopback_only_with_guest_present_passes(make_facts):
    assert_status(run("ODB-01", broker(make_facts, users=USERS_WITH_GUEST)), Status.PASS)


@pytest.mark.parametrize(
    "line",
    [
        "tcp LISTEN 0 128 0.0.0.0:15672 0.0.0.0:*\n",
        "tcp LISTEN 0 4096 *:4369 *:*\n",
        "tcp LISTEN 0 128 10.89.0.5:25672 0.0.0.0:*\n",
        "tcp LISTEN 0 128 0.0.0.0:15671 0.0.0.0:*\n",
    ],
)
def test_internal_ports_off_host_fail(make_facts, line):
    assert_status(run("ODB-01", broker(make_facts, ss=SS_BROKER + line, intent=INTENT)), Status.FAIL)


def test_distribution_on_the_declared_private_cluster_address_passes(make_facts):
    intent = {**INTENT, "distribution": {"address": "10.89.0.5", "port": 25672, "epmd_addresses": ["10.89.0.5"]}}
    ss = SS_BROKER + "tcp LISTEN 0 128 10.89.0.5:25672 0.0.0.0:*\ntcp LISTEN 0 4096 10.89.0.5:4369 0.0.0.0:*\n"
    assert_status(run("ODB-01", broker(make_facts, ss=ss, intent=intent)), Status.PASS)


def test_readable_cookie_fails(make_facts):
    assert_status(run("ODB-01", broker(make_facts, cookie=0o440)), Status.FAIL)


def test_accepted_exception_is_not_applicable_never_pass(make_facts):
    intent = {**INTENT, "accepted_exceptions": {"ODB-01": {"reason": "management behind a VPN"}}}
    ss = SS_BROKER + "tcp LISTEN 0 128 0.0.0.0:15671 0.0.0.0:*\n"
    result = run("ODB-01", broker(make_facts, ss=ss, intent=intent))
    assert_status(result, Status.NOT_APPLICABLE)
    assert "management behind a VPN" in result.message


@pytest.mark.parametrize(
    ("conf", "users", "ss"),
    [
        ("listeners.tcp none\n", USERS, SS_BROKER),
        (HARDENED_CONF, "not json {", SS_BROKER),
        (HARDENED_CONF, '[{"name": "app"}]', SS_BROKER),
        (HARDENED_CONF, USERS, GARBAGE),
    ],
)
def test_odb01_malformed_input_is_an_error(make_facts, conf, users, ss):
    assert_status(run("ODB-01", broker(make_facts, conf=conf, users=users, ss=ss)), Status.ERROR)


# --- ODB-04: plaintext off-host, TLS versions and suites ------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "tcp LISTEN 0 128 0.0.0.0:5672 0.0.0.0:*\n",
        "tcp LISTEN 0 128 [::]:5672 [::]:*\n",
        "tcp LISTEN 0 128 10.89.0.5:15672 0.0.0.0:*\n",
    ],
)
def test_plaintext_off_host_fails(make_facts, line):
    assert_status(run("ODB-04", broker(make_facts, ss=SS_BROKER + line)), Status.FAIL)


def test_plaintext_on_loopback_only_passes(make_facts):
    ss = SS_BROKER + "tcp LISTEN 0 128 127.0.0.1:5672 0.0.0.0:*\n"
    assert_status(run("ODB-04", broker(make_facts, ss=ss)), Status.PASS)


@pytest.mark.parametrize(
    "extra",
    [
        "ssl_options.versions.3 = tlsv1.1\n",
        "ssl_options.versions.3 = TLSv1\n",
        "ssl_options.ciphers.10 = ECDHE-RSA-AES128-SHA\n",
        "ssl_options.ciphers.10 = AES256-GCM-SHA384\n",
        "management.ssl.port = 15671\nmanagement.ssl.versions.1 = tlsv1.1\n"
        "management.ssl.ciphers.1 = TLS_AES_128_GCM_SHA256\n",
    ],
)
def test_weak_tls_in_rabbitmq_conf_fails(make_facts, extra):
    assert_status(run("ODB-04", broker(make_facts, conf=HARDENED_CONF + extra)), Status.FAIL)


def test_weak_versions_in_advanced_config_fail(make_facts):
    advanced = "[{rabbit, [{ssl_options, [{versions, ['tlsv1.2', 'tlsv1.1']}]}]}].\n"
    assert_status(run("ODB-04", broker(make_facts, files={ADVANCED: advanced})), Status.FAIL)


def test_suites_left_to_erlang_defaults_are_partial(make_facts):
    conf = "".join(line + "\n" for line in HARDENED_CONF.splitlines() if not line.startswith("ssl_options.ciphers"))
    assert_status(run("ODB-04", broker(make_facts, conf=conf)), Status.PARTIAL)


@pytest.mark.parametrize(("conf", "ss"), [("ssl_options.versions.1 tlsv1.2\n", SS_BROKER), (HARDENED_CONF, GARBAGE)])
def test_odb04_malformed_input_is_an_error(make_facts, conf, ss):
    assert_status(run("ODB-04", broker(make_facts, conf=conf, ss=ss)), Status.ERROR)
