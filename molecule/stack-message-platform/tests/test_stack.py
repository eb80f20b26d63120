"""The message-platform stack, seen from the client container as its team asked.

State: prepare.yml audited the stock hosts (reports-before/); converge applied the example
inventory (inventories/examples/message-platform) with the lab overrides; side_effect.yml
changed the consumer's AMQP password while a watcher on the broker recorded every process's
command line, then audited the hardened stack (reports/). The client container is the
application network (the only PostgreSQL and AMQPS client) and the log host.
"""

from __future__ import annotations

import json
import os
import shlex
import uuid
from functools import cache
from pathlib import Path

import pytest
from labhosts import lab_host, must_run, tcp_state
from stacklib import (
    assert_checks_pass,
    assert_grade,
    assert_journal_reaches_log_host,
    assert_log_channel_verifies_log_host,
    assert_ssh_throttled_per_source,
    db_password,
    print_scores,
    put_file,
    report,
)

DB = lab_host("rampart-stack-msg-db")
MQ = lab_host("rampart-stack-msg-mq")
CLIENT_NAME = "rampart-stack-msg-client"
CLIENT = lab_host(CLIENT_NAME)
STACK = ("rampart-stack-msg-db", "rampart-stack-msg-mq")
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""))
SCENARIO = Path(__file__).resolve().parents[1]
CA = "/tmp/rampart-internal-ca.crt"
WRONG_CA = "/etc/ssl/certs/ca-certificates.crt"

AMQP_SCRIPT = r"""
import json, os, ssl, sys
import pika
from pika.exceptions import ChannelClosedByBroker
user, vhost, action = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=os.environ["CA"])
params = pika.ConnectionParameters(
    host=os.environ["SERVER"], port=int(os.environ["PORT"]), virtual_host=vhost,
    credentials=pika.PlainCredentials(user, os.environ["AMQP_PASSWORD"]),
    ssl_options=pika.SSLOptions(ctx, os.environ["SERVER"]),
    connection_attempts=1, socket_timeout=15, blocked_connection_timeout=15)
try:
    connection = pika.BlockingConnection(params)
except Exception as exc:
    text = f"{type(exc).__name__} {exc!r}"
    if "ACCESS_REFUSED" in text or "Authentication" in text:
        outcome = "auth_refused"
    elif "NOT_ALLOWED" in text or "AccessDenied" in text:
        outcome = "vhost_refused"
    else:
        outcome = "error"
    print(json.dumps({"outcome": outcome, "detail": text[:400]}))
    sys.exit(0)
detail = ""
channel = connection.channel()
try:
    if action == "declare_exchange":
        channel.exchange_declare(exchange="orders.events", exchange_type="direct")
        detail = "declared"
    elif action == "setup_queue":
        channel.queue_declare(queue="orders.q.new")
        channel.queue_bind(queue="orders.q.new", exchange="orders.events", routing_key="new")
        detail = "bound"
    elif action == "publish":
        channel.confirm_delivery()
        channel.basic_publish(exchange="orders.events", routing_key="new", body=sys.argv[4].encode())
        detail = "published"
    elif action == "consume":
        for _ in range(50):
            method, _props, payload = channel.basic_get(queue="orders.q.new", auto_ack=True)
            if method is not None:
                detail = payload.decode()
                break
            connection.sleep(0.1)
except ChannelClosedByBroker as exc:
    detail = f"refused {exc.reply_code}"
connection.close()
print(json.dumps({"outcome": "ok", "detail": detail}))
"""


@cache
def ip(host: str) -> str:
    return must_run(lab_host(host), "hostname -I").split()[0]


@cache
def secret(name: str, group: str) -> str:
    return db_password(SCENARIO, name, group)


def new_consumer_password() -> str:
    return (EPHEMERAL / "new-consumer.password").read_text().strip()


@pytest.fixture(scope="module", autouse=True)
def internal_ca() -> None:
    """The client trusts the internal CA that signed both servers' certificates."""
    put_file(CLIENT, CA, (EPHEMERAL / "ca" / "ca.crt").read_text().strip())


def amqp(user: str, password: str, action: str = "connect", *extra: str, vhost: str = "orders") -> dict:
    command = (
        f"CA={CA} SERVER={ip('rampart-stack-msg-mq')} PORT=5671 AMQP_PASSWORD={shlex.quote(password)} "
        f"python3 -c {shlex.quote(AMQP_SCRIPT)} {shlex.quote(user)} {vhost} {action} "
        + " ".join(shlex.quote(e) for e in extra)
    )
    result = CLIENT.run(command)
    # Never print the command: it carries the password.
    assert result.rc == 0, f"AMQP client failed rc={result.rc}: {result.stderr[-800:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def psql(user: str, password: str, database: str, sslmode: str, rootcert: str = CA) -> tuple[int, str]:
    dsn = (
        f"host={ip('rampart-stack-msg-db')} dbname={database} user={user} sslmode={sslmode} "
        f"sslrootcert={rootcert} connect_timeout=5"
    )
    sql = "select current_user, ssl, version from pg_stat_ssl where pid = pg_backend_pid()"
    result = CLIENT.run(f"PGPASSWORD={shlex.quote(password)} psql -XAtw {shlex.quote(dsn)} -c {shlex.quote(sql)}")
    return result.rc, (result.stdout + result.stderr).strip()


def tcp(address: str, port: int) -> str:
    """A plain TCP connect from the client: open, refused or timeout."""
    return tcp_state(CLIENT, address, port)


# --- PostgreSQL: TLS only, verified against the internal CA, no default users -------------


def test_postgresql_tls_verifies_against_the_internal_ca() -> None:
    rc, out = psql("orders", secret("vault_message_platform_orders_password", "db"), "orders", "verify-full")
    assert rc == 0, out
    assert out.startswith("orders|t|TLSv1.3"), out


def test_postgresql_tls_fails_against_another_trust_store() -> None:
    rc, out = psql("orders", secret("vault_message_platform_orders_password", "db"), "orders", "verify-full", WRONG_CA)
    assert rc != 0
    assert "certificate verify failed" in out, out


def test_postgresql_refuses_plaintext() -> None:
    rc, out = psql("orders", secret("vault_message_platform_orders_password", "db"), "orders", "disable")
    assert rc != 0
    assert "no encryption" in out, out


@pytest.mark.parametrize(("user", "password"), [("postgres", "postgres"), ("postgres", ""), ("orders", "orders")])
def test_postgresql_refuses_default_credentials(user: str, password: str) -> None:
    rc, out = psql(user, password, "orders", "verify-full")
    assert rc != 0, out
    assert "authentication failed" in out or "no pg_hba.conf entry" in out, out


# --- RabbitMQ: AMQPS verified against the internal CA, plaintext and guest refused ---------


def test_amqps_handshake_verifies_against_the_internal_ca() -> None:
    address = ip("rampart-stack-msg-mq")
    out = CLIENT.run(
        f"echo | timeout 20 openssl s_client -connect {address}:5671 -CAfile {CA} -verify_return_error"
        f" -verify_ip {address}"
    )
    assert "Verify return code: 0 (ok)" in out.stdout, out.stdout[-1500:] + out.stderr[-500:]
    refused = CLIENT.run(
        f"echo | timeout 20 openssl s_client -connect {address}:5671 -CAfile {WRONG_CA} -verify_return_error"
    )
    assert refused.rc != 0
    assert "Verify return code: 0 (ok)" not in refused.stdout


def test_plaintext_amqp_is_refused() -> None:
    assert tcp(ip("rampart-stack-msg-mq"), 5672) in ("refused", "timeout")
    # Control: the same probe does reach the TLS port.
    assert tcp(ip("rampart-stack-msg-mq"), 5671) == "open"


@pytest.mark.parametrize("vhost", ["/", "orders"])
def test_guest_guest_is_refused(vhost: str) -> None:
    assert amqp("guest", "guest", vhost=vhost)["outcome"] == "auth_refused"


def test_producer_publishes_and_consumer_receives_on_orders() -> None:
    producer = secret("vault_message_platform_amqp_producer_password", "broker")
    assert amqp("orders-producer", producer, "declare_exchange") == {"outcome": "ok", "detail": "declared"}
    assert amqp("orders-consumer", new_consumer_password(), "setup_queue") == {"outcome": "ok", "detail": "bound"}
    body = uuid.uuid4().hex
    assert amqp("orders-producer", producer, "publish", body) == {"outcome": "ok", "detail": "published"}
    assert amqp("orders-consumer", new_consumer_password(), "consume") == {"outcome": "ok", "detail": body}


def test_consumer_cannot_publish_and_producer_cannot_read() -> None:
    """Least privilege inside the vhost: each service does only its half."""
    reply = amqp("orders-consumer", new_consumer_password(), "publish", "forged")
    assert reply == {"outcome": "ok", "detail": "refused 403"}, reply
    reply = amqp("orders-producer", secret("vault_message_platform_amqp_producer_password", "broker"), "consume")
    assert reply == {"outcome": "ok", "detail": "refused 403"}, reply


def test_users_are_refused_outside_the_orders_vhost() -> None:
    reply = amqp("orders-producer", secret("vault_message_platform_amqp_producer_password", "broker"), vhost="/")
    assert reply["outcome"] == "vhost_refused", reply


def test_wrong_password_is_refused() -> None:
    assert amqp("orders-producer", "Not-the-producer-password-1234")["outcome"] == "auth_refused"


# --- the broker password change: refused after it, never in any command line ---------------


def test_old_consumer_password_is_refused_after_the_change() -> None:
    old = secret("vault_message_platform_amqp_consumer_password", "broker")
    assert old != new_consumer_password()
    assert amqp("orders-consumer", old)["outcome"] == "auth_refused"
    assert amqp("orders-consumer", new_consumer_password())["outcome"] == "ok"


def test_no_password_was_in_any_command_line_during_the_change() -> None:
    watched = must_run(MQ, "cat /root/argv-watch.log")
    # The watcher saw what ran: its canary, and rabbitmqctl importing the new hash.
    assert "rampart-argv-canary" in watched
    assert "import_definitions" in watched, "the watcher never saw rabbitmqctl import the change"
    for name, group in (
        ("vault_message_platform_amqp_consumer_password", "broker"),
        ("vault_message_platform_amqp_producer_password", "broker"),
    ):
        assert secret(name, group) not in watched, f"{name} appeared in a command line"
    assert new_consumer_password() not in watched, "the new password appeared in a command line"


# --- LOG-03: both hosts ship their journal to the log host over TLS ------------------------


@pytest.mark.parametrize("host", STACK)
def test_the_journal_reaches_the_log_host(host: str) -> None:
    assert_journal_reaches_log_host(host, CLIENT)


@pytest.mark.parametrize("host", STACK)
def test_the_log_channel_verifies_the_log_host(host: str) -> None:
    assert_log_channel_verifies_log_host(host, CLIENT_NAME)


# --- DOS-06: SSH from the bastion is throttled per source ----------------------------------


@pytest.mark.parametrize("host", STACK)
def test_ssh_from_the_bastion_is_throttled_per_source(host: str) -> None:
    assert_ssh_throttled_per_source(host)


# --- the audit, before and after ------------------------------------------------------------


def before(host: str) -> dict:
    runs = sorted((EPHEMERAL / "reports-before" / host).glob("*/report.json"))
    assert runs, f"no 'before' audit report for {host}"
    return json.loads(runs[-1].read_text())


@pytest.mark.parametrize("host", STACK)
def test_scores_before_and_after(host: str) -> None:
    old, new = before(host), report(EPHEMERAL, host)
    print(
        f"\n== {host}: before {old['overall']['grade']} ({old['overall']['score']})"
        f" -> after {new['overall']['grade']} ({new['overall']['score']})"
    )
    print(f"   {'category':<12} {'before':>7} {'after':>7}")
    for name in sorted(set(old["categories"]) | set(new["categories"])):
        was = old["categories"].get(name, {}).get("score", "-")
        now = new["categories"].get(name, {}).get("score", "-")
        print(f"   {name:<12} {was!s:>7} {now!s:>7}")
    print_scores(host, new)
    assert new["overall"]["score"] > old["overall"]["score"]


@pytest.mark.parametrize("host", STACK)
def test_no_hard_coded_credentials(host: str) -> None:
    findings = {f["id"]: f for f in report(EPHEMERAL, host)["findings"]}
    for check in ("SEC-02", "SEC-03"):
        assert findings[check]["status"] == "pass", findings[check]


@pytest.mark.parametrize("host", STACK)
def test_audit_grade_is_a_plus(host: str) -> None:
    assert_grade(EPHEMERAL, host)
    assert_checks_pass(EPHEMERAL, host, ("LOG-03", "DOS-06"))
