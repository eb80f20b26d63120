"""Hardened ClickHouse on "server", proven from "client" over the podman network.

Every query goes over HTTPS (curl, verifying the internal CA) or the native TLS port
(clickhouse-client --secure) from the client container. Passwords come from the files
the role generated on the controller (molecule's ephemeral directory); curl reads them
from its standard input (-K -), never from a command-line argument.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from labhosts import audit_findings, lab_host, must_run

SERVER_NAME = "rampart-clickhouse-server"
SERVER = lab_host(SERVER_NAME)
CLIENT = lab_host("rampart-clickhouse-client")
CA = "/usr/local/share/rampart-clickhouse-ca.crt"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
CREDENTIALS = EPHEMERAL / "credentials" / SERVER_NAME


def password(user: str) -> str:
    return (CREDENTIALS / f"{user}.password").read_text().strip()


def query(sql: str, user: str | None = None, secret: str | None = None, url: str = "") -> tuple[int, str]:
    """POST ``sql`` from the client; (HTTP status, body). Status 0 when no HTTP answer (curl's error in body)."""
    lines = [f'header = "X-ClickHouse-User: {user}"'] if user else []
    if secret is not None:
        lines.append(f'header = "X-ClickHouse-Key: {secret}"')
    config = " ".join(shlex.quote(line) for line in lines) or "''"
    target = url or f"https://{SERVER_NAME}:8443/"
    command = (
        f"printf '%s\\n' {config} | curl -sS -K - --max-time 10 --cacert {CA} "
        f"--data-binary {shlex.quote(sql)} -w '\\n%{{http_code}}' {shlex.quote(target)}"
    )
    result = CLIENT.run(command)
    body, _, code = (result.stdout + result.stderr).rstrip("\n").rpartition("\n")
    return (int(code) if code.isdigit() else 0), (body or result.stderr).strip()


def as_app(sql: str) -> tuple[int, str]:
    return query(sql, "app", password("app"))


def assert_refused(reply: tuple[int, str], word: str) -> None:
    """Not a 200, and ClickHouse's error names why (``word``)."""
    status, body = reply
    assert status != 200, reply
    assert word in body.lower(), reply


# --- the application user: reads its database, nothing else ------------------------------------


def test_app_user_can_select_its_database() -> None:
    assert as_app("SELECT count() FROM analytics.events") == (200, "5")


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO analytics.events VALUES (99, 'x')",
        "CREATE TABLE analytics.evil (id UInt8) ENGINE = Memory",
        "DROP TABLE analytics.events",
        "ALTER TABLE analytics.events DELETE WHERE 1",
        # Table functions reach files and URLs from the server: forbidden in readonly mode.
        "SELECT * FROM file('/etc/passwd', CSV, 'a String')",
        "SELECT * FROM url('http://rampart-clickhouse-client:9/', CSV, 'a String')",
    ],
)
def test_app_user_cannot_write_or_change_schema(sql: str) -> None:
    assert_refused(as_app(sql), "readonly")
    assert as_app("SELECT count() FROM analytics.events") == (200, "5")


def test_app_user_cannot_change_the_readonly_setting() -> None:
    assert_refused(query("SELECT 1", "app", password("app"), f"https://{SERVER_NAME}:8443/?readonly=0"), "readonly")


def test_app_user_cannot_read_another_database() -> None:
    assert_refused(as_app("SELECT count() FROM other.secrets"), "access denied")


# --- logins refused --------------------------------------------------------------------------------


def test_wrong_password_is_refused() -> None:
    assert_refused(query("SELECT 1", "app", "not-the-password-0123456789"), "password")


def test_missing_password_is_refused() -> None:
    assert_refused(query("SELECT 1", "app"), "password")


def test_unknown_user_is_refused() -> None:
    assert_refused(query("SELECT 1", "nobody", password("app")), "unknown user")


@pytest.mark.parametrize("secret", [None, "", "default", "clickhouse"])
def test_default_user_without_its_password_is_refused(secret: str | None) -> None:
    status, _body = query("SELECT 1", "default", secret)
    assert status != 200
    status, _body = query("SELECT 1", None, secret)
    assert status != 200


def test_default_user_with_its_password_is_refused_from_the_network() -> None:
    assert_refused(query("SELECT 1", "default", password("default")), "not allowed to connect")


def test_default_user_works_on_the_server_itself() -> None:
    """The local administrator still works: its password over loopback."""
    lines = ['header = "X-ClickHouse-User: default"', f'header = "X-ClickHouse-Key: {password("default")}"']
    config = " ".join(shlex.quote(line) for line in lines)
    out = must_run(
        SERVER, f"printf '%s\\n' {config} | curl -sSk -K - --data-binary 'SELECT 42' https://127.0.0.1:8443/"
    )
    assert out.strip() == "42"


# --- quota -----------------------------------------------------------------------------------------


def test_quota_stops_the_limited_user_and_not_the_others() -> None:
    """'limited' has a quota of 3 queries per hour: a fourth one is refused (code 201)."""
    replies = [query("SELECT 1", "limited", password("limited")) for _ in range(5)]
    refused = [body for status, body in replies if status != 200]
    assert refused, replies
    assert all("quota" in body.lower() for body in refused), replies
    assert as_app("SELECT 1") == (200, "1")


# --- network: TLS only, declared addresses only -----------------------------------------------------


@pytest.mark.parametrize("port", [8123, 9000, 9009])
def test_plaintext_and_replication_ports_are_closed(port: int) -> None:
    result = CLIENT.run(f"timeout 5 bash -c 'exec 3<>/dev/tcp/{SERVER_NAME}/{port}'")
    assert result.rc != 0, f"port {port} accepted a connection"


def test_secure_ports_accept_connections() -> None:
    for port in (8443, 9440):
        result = CLIENT.run(f"timeout 5 bash -c 'exec 3<>/dev/tcp/{SERVER_NAME}/{port}'")
        assert result.rc == 0, f"port {port}: {result.stderr}"


def test_native_protocol_over_tls_works() -> None:
    config = (
        "<config><user>app</user><password>{secret}</password><openSSL><client>"
        f"<caConfig>{CA}</caConfig><verificationMode>strict</verificationMode>"
        "<invalidCertificateHandler><name>RejectCertificateHandler</name></invalidCertificateHandler>"
        "</client></openSSL></config>"
    ).format(secret=password("app"))
    must_run(CLIENT, f"umask 077; printf '%s' {shlex.quote(config)} > /root/ch-app.xml")
    out = must_run(
        CLIENT,
        f"clickhouse-client --config-file /root/ch-app.xml --secure --host {SERVER_NAME} --port 9440 "
        "--query 'SELECT count() FROM analytics.events'",
    )
    assert out.strip() == "5"


@pytest.mark.parametrize(("flag", "accepted"), [("-tls1", False), ("-tls1_1", False), ("-tls1_2", True)])
def test_tls_versions(flag: str, accepted: bool) -> None:
    result = CLIENT.run(
        f"echo | timeout 10 openssl s_client -connect {SERVER_NAME}:8443 {flag} -CAfile {CA} "
        f"-servername {SERVER_NAME} -verify_return_error"
    )
    assert ("Verify return code: 0 (ok)" in result.stdout and result.rc == 0) is accepted, result.stdout[-400:]


@pytest.mark.parametrize("cipher", ["AES128-SHA", "AES256-SHA256", "ECDHE-RSA-AES128-SHA", "DHE-RSA-AES128-GCM-SHA256"])
def test_weak_tls12_ciphers_are_refused(cipher: str) -> None:
    result = CLIENT.run(f"echo | timeout 10 openssl s_client -connect {SERVER_NAME}:8443 -tls1_2 -cipher {cipher}")
    assert result.rc != 0, result.stdout[-300:]


def test_listens_only_on_declared_addresses() -> None:
    """Every listening socket but sshd's is ClickHouse's TLS ports on the declared addresses.

    (``ss -p`` cannot name clickhouse's sockets in the container: root there lacks CAP_SYS_PTRACE.)
    """
    intent = json.loads(must_run(SERVER, "cat /etc/rampart/intent/clickhouse.json"))
    sockets = [line.split()[4] for line in must_run(SERVER, "ss -Htlnu").splitlines()]
    served = {(local.rsplit(":", 1)[0].strip("[]"), int(local.rsplit(":", 1)[1])) for local in sockets}
    served = {(address, port) for address, port in served if port != 22}
    assert served == {(address, port) for address in intent["listen_host"] for port in (8443, 9440)}, sockets


# --- the host ---------------------------------------------------------------------------------------


def test_server_does_not_run_as_root() -> None:
    users = must_run(SERVER, "ps -o user= -C clickhouse-server").split()
    assert users, "no clickhouse-server process"
    assert set(users) == {"clickhouse"}, users


def test_drop_ins_hold_hashes_only_and_are_not_world_readable() -> None:
    for path in (
        "/etc/clickhouse-server/users.d/rampart-users.xml",
        "/etc/clickhouse-server/config.d/rampart-network.xml",
        "/etc/clickhouse-server/config.d/rampart-tls.xml",
    ):
        assert must_run(SERVER, f"stat -c '%U:%G %a' {path}").strip() == "root:clickhouse 640", path
    users = must_run(SERVER, "cat /etc/clickhouse-server/users.d/rampart-users.xml")
    for user in ("default", "app", "limited"):
        assert password(user) not in users
    key = must_run(SERVER, "stat -c '%U %a' /etc/clickhouse-server/tls/server.key").strip()
    assert key == "clickhouse 600"


def test_generated_passwords_are_private_on_the_controller() -> None:
    assert CREDENTIALS.stat().st_mode & 0o777 == 0o700
    for user in ("default", "app", "limited"):
        path = CREDENTIALS / f"{user}.password"
        assert path.stat().st_mode & 0o777 == 0o600
        assert len(password(user)) >= 32


def test_intent_names_users_without_secrets() -> None:
    text = must_run(SERVER, "cat /etc/rampart/intent/clickhouse.json")
    intent = json.loads(text)
    assert [u["name"] for u in intent["users"]] == ["app", "limited"]
    assert all(u["readonly"] for u in intent["users"])
    for user in ("default", "app", "limited"):
        assert password(user) not in text
    assert must_run(SERVER, "stat -c '%U %a' /etc/rampart/intent/clickhouse.json").strip() == "root 600"


# --- the audit ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audit() -> dict[str, dict]:
    return audit_findings(SERVER_NAME, ["ODB-*"])


@pytest.mark.parametrize("check_id", ["ODB-02", "ODB-05"])
def test_audit_passes_the_clickhouse_checks(audit: dict[str, dict], check_id: str) -> None:
    finding = audit[check_id]
    assert finding["status"] == "pass", finding
