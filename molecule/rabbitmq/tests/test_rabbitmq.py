"""Hardened RabbitMQ on "broker", proven from "client" over the podman network.

Every AMQP check is a real AMQP 0-9-1 session over TLS with python3-pika on the client
host (the script below, run with ``python3 -c``); TLS versions and ciphers are real
handshakes with ``openssl s_client``. Passwords come from the files the role generated on
the controller (molecule's ephemeral directory) and reach the client through the
environment, never a command line.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from labhosts import audit_findings, lab_host, must_run, tcp_state

BROKER = lab_host("rampart-rabbitmq-broker")
CLIENT = lab_host("rampart-rabbitmq-client")
SERVER = "rampart-rabbitmq-broker"
CA = "/usr/local/share/rampart-rabbitmq-ca.crt"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
CREDENTIALS = EPHEMERAL / "credentials" / SERVER
OPS_PASSWORD = "Molecule-ops-only-4f9c2d81e7"  # the provided (vault-style) password of converge.yml

# One AMQP session: connect over TLS (CA-verified, hostname checked), then optionally
# declare a queue, publish one message and get it back. Prints a JSON outcome.
AMQP_SCRIPT = r"""
import json, os, ssl, sys, uuid
import pika
from pika import exceptions as ex
user, vhost, action = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=os.environ["CA"])
params = pika.ConnectionParameters(
    host=os.environ["SERVER"], port=int(os.environ.get("PORT", "5671")), virtual_host=vhost,
    credentials=pika.PlainCredentials(user, os.environ["AMQP_PASSWORD"]),
    ssl_options=pika.SSLOptions(ctx, os.environ["SERVER"]),
    connection_attempts=1, socket_timeout=15, blocked_connection_timeout=15)
try:
    connection = pika.BlockingConnection(params)
except Exception as exc:  # classify the refusal
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
if action == "roundtrip":
    channel = connection.channel()
    queue, exchange = "app.molecule", "app.events"
    channel.exchange_declare(exchange=exchange, exchange_type="direct")
    channel.queue_declare(queue=queue, durable=False, auto_delete=False)
    channel.queue_bind(queue=queue, exchange=exchange, routing_key="k")
    body = uuid.uuid4().hex
    channel.basic_publish(exchange=exchange, routing_key="k", body=body.encode())
    got = None
    for _ in range(50):
        method, _props, payload = channel.basic_get(queue=queue, auto_ack=True)
        if method is not None:
            got = payload.decode()
            break
        connection.sleep(0.1)
    channel.queue_delete(queue=queue)
    channel.exchange_delete(exchange=exchange)
    detail = "same message" if got == body else f"got {got!r}"
elif action == "declare_foreign":
    channel = connection.channel()
    try:
        channel.queue_declare(queue="billing.q")
        detail = "declared"
    except ex.ChannelClosedByBroker as exc:
        detail = f"refused {exc.reply_code} {exc.reply_text}"
connection.close()
print(json.dumps({"outcome": "ok", "detail": detail}))
"""


def password(user: str) -> str:
    return (CREDENTIALS / f"{user}.password").read_text().strip()


def amqp(user: str, secret: str, vhost: str = "app", action: str = "connect", port: int = 5671) -> dict:
    env = (
        f"CA={shlex.quote(CA)} SERVER={SERVER} PORT={port} AMQP_PASSWORD={shlex.quote(secret)} "
        f"python3 -c {shlex.quote(AMQP_SCRIPT)} {shlex.quote(user)} {shlex.quote(vhost)} {action}"
    )
    result = CLIENT.run(env)
    # Never print the command: it carries the password.
    assert result.rc == 0, f"AMQP client failed rc={result.rc}: {result.stderr[-800:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def s_client(*options: str, port: int = 5671) -> str:
    """openssl s_client from the client host; stdout + stderr."""
    command = "echo | timeout 20 openssl s_client -connect %s:%d -servername %s -CAfile %s -verify_return_error %s"
    result = CLIENT.run(command % (SERVER, port, SERVER, CA, " ".join(options)))
    return result.stdout + result.stderr


def tcp_connect(port: int) -> str:
    """Plain TCP connect from the client host: 'open', 'refused' or 'timeout'."""
    return tcp_state(CLIENT, SERVER, port)


# --- AMQP over TLS: accepted with the CA, older protocols and plaintext refused ----------


def test_tls_handshake_verifies_with_the_internal_ca() -> None:
    out = s_client("-brief")
    assert "Verification: OK" in out, out
    assert "Protocol version: TLSv1.3" in out, out


def test_tls_handshake_fails_against_another_trust_store() -> None:
    # The same handshake against the public CA bundle fails: the success above really
    # verified the internal CA's certificate.
    result = CLIENT.run(
        f"echo | timeout 20 openssl s_client -connect {SERVER}:5671 -CAfile /etc/ssl/certs/ca-certificates.crt "
        "-verify_return_error -brief"
    )
    assert "Verification: OK" not in result.stdout + result.stderr


def test_tls12_with_an_aead_suite_is_accepted() -> None:
    out = s_client("-brief", "-tls1_2")
    assert "Protocol version: TLSv1.2" in out, out
    assert "GCM" in out or "CHACHA20" in out, out


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256"])
def test_tls12_cbc_and_static_rsa_suites_are_refused(cipher: str) -> None:
    out = s_client("-brief", "-tls1_2", "-cipher", f"{cipher}@SECLEVEL=0")
    assert "Protocol version" not in out, out
    # The server's alert: Erlang answers "no shared suite" with insufficient_security (71).
    assert "alert insufficient security" in out or "alert handshake failure" in out, out


@pytest.mark.parametrize("flag", ["-tls1_1", "-tls1"])
def test_tls11_and_tls10_are_refused_by_the_server(flag: str) -> None:
    # SECLEVEL=0 lets this OpenSSL 3 client offer TLS 1.0/1.1; the refusal is the server's
    # protocol_version alert, not the client declining to try.
    out = s_client(flag, "-cipher", "DEFAULT@SECLEVEL=0")
    assert "alert protocol version" in out, out
    assert "no protocols available" not in out, out


def test_plaintext_amqp_port_is_closed() -> None:
    assert tcp_connect(5672) == "refused"
    assert ":5672 " not in must_run(BROKER, "ss -Htln")


# --- Users: guest gone, wrong passwords refused, the app user kept to its vhost -----------


@pytest.mark.parametrize("vhost", ["/", "app"])
def test_guest_guest_is_refused(vhost: str) -> None:
    result = amqp("guest", "guest", vhost=vhost)
    assert result["outcome"] == "auth_refused", result


def test_guest_user_is_deleted() -> None:
    users = json.loads(must_run(BROKER, "rabbitmqctl -q list_users --formatter json"))
    names = {user["user"] for user in users}
    assert "guest" not in names
    assert {"app", "ops"} <= names


def test_wrong_password_is_refused() -> None:
    result = amqp("app", "not-the-password-0123456789")
    assert result["outcome"] == "auth_refused", result


def test_app_user_publishes_and_consumes_on_its_vhost() -> None:
    result = amqp("app", password("app"), vhost="app", action="roundtrip")
    assert result == {"outcome": "ok", "detail": "same message"}, result


def test_app_user_is_refused_on_another_vhost() -> None:
    for vhost in ("other", "/"):
        result = amqp("app", password("app"), vhost=vhost)
        assert result["outcome"] == "vhost_refused", (vhost, result)


def test_app_user_cannot_configure_outside_its_pattern() -> None:
    result = amqp("app", password("app"), vhost="app", action="declare_foreign")
    assert result["outcome"] == "ok", result
    assert result["detail"].startswith("refused 403"), result


def test_generated_password_is_long_and_stored_0600() -> None:
    path = CREDENTIALS / "app.password"
    assert len(password("app")) >= 16
    assert path.stat().st_mode & 0o777 == 0o600
    assert not (CREDENTIALS / "ops.password").exists(), "a provided password must not be generated"


# --- Management: HTTPS only on the declared address ---------------------------------------


def management(user: str, secret: str) -> str:
    # The credentials reach curl on stdin (-K -), not in its arguments.
    config = f'user = "{user}:{secret}"'
    result = CLIENT.run(
        f"printf '%s\\n' {shlex.quote(config)} | curl -s -o /dev/null -w '%{{http_code}}' --cacert {CA} -K - "
        f"https://{SERVER}:15671/api/whoami"
    )
    return result.stdout.strip()


def test_management_https_answers_the_administrator_only() -> None:
    assert management("ops", OPS_PASSWORD) == "200"
    assert management("ops", "wrong-password-0123456789") == "401"
    assert management("guest", "guest") == "401"


@pytest.mark.parametrize("port", [15672, 4369, 25672])
def test_plaintext_management_epmd_and_distribution_are_unreachable(port: int) -> None:
    assert tcp_connect(port) in ("refused", "timeout")


def test_reachable_ports_control() -> None:
    # The negative results above are not a dead network: the TLS ports answer.
    assert tcp_connect(5671) == "open"
    assert tcp_connect(15671) == "open"


def test_epmd_and_distribution_listen_on_loopback_only() -> None:
    listeners = must_run(BROKER, "ss -Htln").split("\n")
    local = [line.split()[3] for line in listeners if line.strip()]
    epmd = [address for address in local if address.endswith(":4369")]
    dist = [address for address in local if address.endswith(":25672")]
    assert epmd == ["127.0.0.1:4369"], local
    assert dist == ["127.0.0.1:25672"], local


# --- Host files -------------------------------------------------------------------------


def test_erlang_cookie_is_0400_and_rabbitmq_owned() -> None:
    cookie = BROKER.file("/var/lib/rabbitmq/.erlang.cookie")
    assert (cookie.user, cookie.group, cookie.mode) == ("rabbitmq", "rabbitmq", 0o400)


def test_private_key_and_config_modes() -> None:
    key = BROKER.file("/etc/rabbitmq/tls/server.key")
    assert (key.user, key.mode) == ("rabbitmq", 0o600)
    conf = BROKER.file("/etc/rabbitmq/rabbitmq.conf")
    assert (conf.user, conf.group, conf.mode) == ("root", "rabbitmq", 0o640)


def test_runs_as_rabbitmq() -> None:
    users = set(must_run(BROKER, "ps -o user= -C beam.smp").split())
    assert users == {"rabbitmq"}


def test_intent_file_has_no_password() -> None:
    intent = BROKER.file("/etc/rampart/intent/rabbitmq.json")
    assert (intent.user, intent.mode) == ("root", 0o600)
    text = intent.content_string
    assert password("app") not in text
    assert OPS_PASSWORD not in text
    assert json.loads(text)["amqp"]["plaintext_listeners"] == []


# --- The audit on the broker ------------------------------------------------------------


def audit(checks: list[str]) -> dict[str, dict]:
    return audit_findings(SERVER, checks)


def test_audit_passes_odb01_and_odb04_on_the_broker() -> None:
    findings = audit(["ODB-01", "ODB-04"])
    for check_id in ("ODB-01", "ODB-04"):
        assert findings[check_id]["status"] == "pass", findings[check_id]
    # ODB-01 really asked the node: its evidence lists the users, without guest.
    users = [item for item in findings["ODB-01"]["evidence"] if "rabbitmqctl list_users" in item]
    assert users, findings["ODB-01"]["evidence"]
    assert "guest" not in users[0], users
    assert "app" in users[0], users
