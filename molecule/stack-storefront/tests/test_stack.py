"""The storefront stack, seen from outside as its team asked.

State: converge applied the example inventory (inventories/examples/storefront) with the lab
overrides; side_effect.yml backed up, test-restored and audited the stack. The client
container is the application network and the monitoring server (both allowlists); the data
host is outside the monitoring allowlist and the edge outside the application network.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest
from labhosts import lab_host, must_run
from stacklib import (
    assert_checks_pass,
    assert_grade,
    assert_journal_reaches_log_host,
    assert_log_channel_verifies_log_host,
    assert_ssh_throttled_per_source,
    curl,
    db_password,
    pg_login,
    put_file,
)

EDGE = lab_host("rampart-stack-sf-edge")
DATA = lab_host("rampart-stack-sf-data")
CLIENT = lab_host("rampart-stack-sf-client")
CLIENT_NAME = "rampart-stack-sf-client"
STACK_HOSTS = ["rampart-stack-sf-edge", "rampart-stack-sf-data"]
NAME = "shop.example.com"
ROOT = "/tmp/pebble-root.pem"
INTERNAL_CA = "/tmp/rampart-internal-ca.crt"
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""))
SCENARIO = Path(__file__).resolve().parents[1]
CREDENTIALS = EPHEMERAL / "credentials" / "rampart-stack-sf-edge"


@cache
def address(host: object) -> str:
    return must_run(host, "hostname -I").split()[0]


@cache
def secret(name: str) -> str:
    return db_password(SCENARIO, name, "data")


def prometheus() -> str:
    return "prometheus:" + (CREDENTIALS / "nginx-htpasswd-prometheus").read_text().strip()


@pytest.fixture(scope="module", autouse=True)
def trust() -> None:
    """Pebble's root (random per Pebble start) and the internal CA, on the hosts that connect."""
    root = must_run(CLIENT, "curl -fsS --cacert /etc/pebble/minica.pem https://localhost:15000/roots/0")
    internal_ca = (EPHEMERAL / "ca" / "ca.crt").read_text()
    for host in (CLIENT, DATA, EDGE):
        put_file(host, ROOT, root.strip())
        put_file(host, INTERNAL_CA, internal_ca.strip())


def handshake(version: str) -> tuple[int, str]:
    result = CLIENT.run(
        f"openssl s_client -connect {address(EDGE)}:443 -servername {NAME} -{version} -CAfile {ROOT} "
        f"-verify_return_error -verify_hostname {NAME} </dev/null"
    )
    return result.rc, result.stdout + result.stderr


def test_tls_13_accepted_with_a_pebble_certificate() -> None:
    rc, out = handshake("tls1_3")
    assert rc == 0, out[-2000:]
    assert "Verify return code: 0 (ok)" in out
    assert "Protocol  : TLSv1.3" in out or "New, TLSv1.3" in out, out[-2000:]
    assert any(suite in out for suite in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305"))


@pytest.mark.parametrize("version", ["tls1_2", "tls1_1"])
def test_older_tls_is_refused(version: str) -> None:
    rc, out = handshake(version)
    assert rc != 0, out[-2000:]
    assert "Cipher is (NONE)" in out or "alert" in out or "no protocols available" in out, out[-2000:]


def test_cors_answers_only_the_allowlisted_origin() -> None:
    status, headers, _ = curl(
        CLIENT, f"https://{NAME}/api/", address(EDGE), ROOT, "-H", "Origin: https://checkout.example.com"
    )
    assert status == 200
    assert headers.get("access-control-allow-origin") == "https://checkout.example.com", headers
    for method in ("GET", "OPTIONS"):
        status, headers, _ = curl(
            CLIENT, f"https://{NAME}/api/", address(EDGE), ROOT, "-X", method, "-H", "Origin: https://evil.example.net"
        )
        assert not headers.get("access-control-allow-origin"), (method, headers)


def test_metrics_need_the_password_from_the_allowlist() -> None:
    url = f"https://{NAME}/metrics"
    status, headers, _ = curl(CLIENT, url, address(EDGE), ROOT)
    assert status == 401
    assert "www-authenticate" in headers
    assert curl(CLIENT, url, address(EDGE), ROOT, "-u", "prometheus:not-the-password")[0] == 401
    status, _, body = curl(CLIENT, url, address(EDGE), ROOT, "-u", prometheus())
    assert (status, body.strip()) == (200, "shop_orders_total 42")


def test_metrics_answer_403_outside_the_allowlist_even_with_the_password() -> None:
    url = f"https://{NAME}/metrics"
    assert curl(DATA, url, address(EDGE), ROOT)[0] == 403
    assert curl(DATA, url, address(EDGE), ROOT, "-u", prometheus())[0] == 403
    # The rest of the site is public from there.
    assert curl(DATA, f"https://{NAME}/", address(EDGE), ROOT)[0] == 200


def redis(host: object, *args: str, port: int = 6380, tls: bool = True) -> str:
    options = f"--tls --cacert {INTERNAL_CA}" if tls else ""
    quoted = " ".join(f"'{arg}'" for arg in args)
    result = host.run(f"timeout 10 redis-cli --no-auth-warning -h {address(DATA)} -p {port} {options} {quoted}")
    return (result.stdout + result.stderr).strip()


def test_redis_requires_auth_and_tls() -> None:
    assert "NOAUTH" in redis(CLIENT, "PING")
    # Plaintext 6379: nothing listens on the data host, and the firewall drops the port anyway
    # (no answer at all from the client's side, or a refusal).
    plain = redis(CLIENT, "PING", port=6379, tls=False)
    assert "PONG" not in plain, plain
    assert "NOAUTH" not in plain, plain
    assert ":6379 " not in must_run(DATA, "ss -Htln"), "Redis listens in plaintext"
    # Plaintext on the TLS port gets no answer a client could use.
    assert "PONG" not in redis(CLIENT, "PING", tls=False)


def test_redis_refuses_the_default_user_and_wrong_passwords() -> None:
    for user, password in (("default", ""), ("default", "default"), ("shop", "wrong-password-123")):
        out = redis(CLIENT, "--user", user, "--pass", password or "x", "PING")
        assert "PONG" not in out, (user, out)
        assert "WRONGPASS" in out or "NOAUTH" in out or "disabled" in out, (user, out)


def test_redis_shop_user_is_least_privilege() -> None:
    auth = ("--user", "shop", "--pass", secret("vault_storefront_redis_password"))
    assert redis(CLIENT, *auth, "SET", "shop:cart:1", "3") == "OK"
    assert redis(CLIENT, *auth, "GET", "shop:cart:1") == "3"
    assert "NOPERM" in redis(CLIENT, *auth, "SET", "other:key", "1")
    assert "NOPERM" in redis(CLIENT, *auth, "CONFIG", "GET", "*")
    assert "NOPERM" in redis(CLIENT, *auth, "FLUSHALL")


@pytest.mark.parametrize("port", [6380, 5432])
def test_data_ports_are_not_reachable_from_outside_the_app_network(port: int) -> None:
    # The edge is outside the app network: the firewall drops its packets (no clients there, so
    # that the audit does not take the edge for a data host).
    result = EDGE.run(f"timeout 5 bash -c '</dev/tcp/{address(DATA)}/{port}'")
    assert result.rc != 0, result.stdout


def login(host: object, user: str, password: str, sslmode: str) -> tuple[int, str]:
    return pg_login(host, address(DATA), "shop", user=user, password=password, sslmode=sslmode)


def test_postgresql_serves_the_app_network_over_tls_only() -> None:
    password = secret("vault_storefront_db_password")
    assert login(CLIENT, "shop", password, "require") == (0, "shop|t")
    rc, out = login(CLIENT, "shop", password, "disable")
    assert rc != 0, out
    assert "no encryption" in out, out
    for user, wrong in (("shop", password + "x"), ("postgres", "postgres"), ("shop", "shop")):
        rc, out = login(CLIENT, user, wrong, "require")
        assert rc != 0, (user, out)
        assert "password authentication failed" in out or "no pg_hba.conf entry" in out, (user, out)


@pytest.mark.parametrize("host", ["rampart-stack-sf-edge", "rampart-stack-sf-data"])
def test_readiness_score(host: str) -> None:
    assert_grade(EPHEMERAL, host)


@pytest.mark.parametrize("name", STACK_HOSTS)
def test_ssh_from_the_bastion_is_throttled_per_source(name: str) -> None:
    assert_ssh_throttled_per_source(name)


@pytest.mark.parametrize("name", STACK_HOSTS)
def test_the_journal_reaches_the_log_host(name: str) -> None:
    assert_journal_reaches_log_host(name, CLIENT)


@pytest.mark.parametrize("name", STACK_HOSTS)
def test_the_log_channel_verifies_the_log_host(name: str) -> None:
    assert_log_channel_verifies_log_host(name, CLIENT_NAME)


@pytest.mark.parametrize("name", STACK_HOSTS)
def test_log_shipping_and_ssh_throttling_pass_the_audit(name: str) -> None:
    assert_checks_pass(EPHEMERAL, name, ("LOG-03", "DOS-06"))
