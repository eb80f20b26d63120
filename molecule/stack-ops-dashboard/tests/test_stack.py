"""The operations-dashboard stack, seen from outside (the client container) as its team asked.

State: converge applied the example inventory (inventories/examples/ops-dashboard) with the
lab overrides; side_effect.yml backed up, test-restored and audited the stack. The client
container is the application network (the only PostgreSQL client) and the outside world.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
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
    burst,
    curl,
    db_password,
    pg_login,
)

EDGE = lab_host("rampart-stack-ops-edge")
DB = lab_host("rampart-stack-ops-db")
CLIENT = lab_host("rampart-stack-ops-client")
CLIENT_NAME = "rampart-stack-ops-client"
STACK_HOSTS = ["rampart-stack-ops-edge", "rampart-stack-ops-db"]
NAME = "ops.example.com"
ROOT = "/tmp/pebble-root.pem"
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""))
SCENARIO = Path(__file__).resolve().parents[1]
CREDENTIALS = EPHEMERAL / "credentials" / "rampart-stack-ops-edge"


@cache
def edge_ip() -> str:
    return must_run(EDGE, "hostname -I").split()[0]


@cache
def db_ip() -> str:
    return must_run(DB, "hostname -I").split()[0]


def htpasswd(user: str) -> str:
    return (CREDENTIALS / f"nginx-htpasswd-{user}").read_text().strip()


def get(path: str, *options: str) -> tuple[int, dict[str, str], str]:
    return curl(CLIENT, f"https://{NAME}{path}", edge_ip(), ROOT, *options)


@pytest.fixture(scope="module", autouse=True)
def pebble_root() -> None:
    """Pebble's issuing root, from its management API (random for every Pebble start)."""
    must_run(CLIENT, f"curl -fsS --cacert /etc/pebble/minica.pem https://localhost:15000/roots/0 -o {ROOT}")


def test_certificate_is_pebble_issued_and_verifies_against_its_root() -> None:
    result = CLIENT.run(
        f"openssl s_client -connect {edge_ip()}:443 -servername {NAME} -CAfile {ROOT} "
        f"-verify_return_error -verify_hostname {NAME} </dev/null"
    )
    assert result.rc == 0, result.stderr
    assert "Verify return code: 0 (ok)" in result.stdout
    assert re.search(r"issuer=.*Pebble", result.stdout), result.stdout[:2000]


def test_renewal_timer_is_active() -> None:
    assert must_run(EDGE, "systemctl is-active certbot.timer").strip() == "active"
    assert must_run(EDGE, "systemctl is-enabled certbot.timer").strip() == "enabled"
    assert EDGE.file(f"/etc/letsencrypt/renewal/{'ops-dashboard'}.conf").exists


def test_hsts_two_years_on_success_and_error() -> None:
    for path, expected in (("/", 200), ("/ops/", 401)):
        status, headers, _ = get(path)
        assert status == expected, (path, status)
        assert headers.get("strict-transport-security", "").startswith("max-age=63072000"), (path, headers)


@pytest.mark.parametrize(
    ("path", "allowed", "refused"),
    [("/ops/", ["oncall", "sre-lead"], ["cfo"]), ("/executive/", ["cfo", "sre-lead"], ["oncall"])],
)
def test_dashboards_ask_for_a_password(path: str, allowed: list[str], refused: list[str]) -> None:
    status, headers, _ = get(path)
    assert status == 401
    assert "www-authenticate" in headers
    assert get(path, "-u", f"{allowed[0]}:not-the-password")[0] == 401
    for user in allowed:
        status, _, body = get(path, "-u", f"{user}:{htpasswd(user)}")
        assert (status, body.strip()) == (200, f"dashboard {path.strip('/')}"), user
    for user in refused:
        assert get(path, "-u", f"{user}:{htpasswd(user)}")[0] == 401, user


def test_cors_answers_only_the_allowlisted_origin() -> None:
    status, headers, _ = get("/api/", "-H", "Origin: https://dashboard.example.com")
    assert status == 200
    assert headers.get("access-control-allow-origin") == "https://dashboard.example.com", headers
    assert headers.get("access-control-allow-credentials") == "true", headers
    status, headers, _ = get("/api/", "-H", "Origin: https://evil.example.net")
    assert status == 200
    assert not headers.get("access-control-allow-origin"), headers
    status, headers, _ = get("/api/", "-X", "OPTIONS", "-H", "Origin: https://evil.example.net")
    assert not headers.get("access-control-allow-origin"), headers


@pytest.mark.parametrize(
    ("path", "rate", "burst_size", "passed"),
    [("/api/", 10, 20, 200), ("/ops/", 5, 10, 401), ("/executive/", 5, 10, 401)],
)
def test_rate_limits_answer_429_at_the_declared_rate(path: str, rate: int, burst_size: int, passed: int) -> None:
    # limit_req runs before basic auth, so the dashboards' burst is sent without a password
    # (401 = passed the limiter): no bcrypt per request slows the burst down on a loaded host.
    time.sleep(burst_size / rate + 1)  # let the client's bucket drain from earlier tests
    codes, elapsed = burst(
        CLIENT, f"https://{NAME}{path}", address=edge_ip(), cafile=ROOT, count=4 * burst_size + 20, options=[]
    )
    ok, limited = codes.count(passed), codes.count(429)
    print(f"\n{path}: {ok} x {passed}, {limited} x 429 in {elapsed:.2f} s (declared {rate} r/s, burst {burst_size})")
    assert ok + limited == len(codes), codes
    assert limited > 0, codes
    # nodelay: the burst plus one pass at once, then `rate` per second of the burst's duration.
    assert burst_size <= ok <= burst_size + 1 + rate * elapsed + 1, (ok, elapsed)


def login(host: object, user: str, password: str, sslmode: str) -> tuple[int, str]:
    return pg_login(host, db_ip(), "dashboard", user=user, password=password, sslmode=sslmode)


def test_postgresql_serves_the_app_network_over_tls_only() -> None:
    password = db_password(SCENARIO, "vault_ops_dashboard_db_password", "db")
    rc, out = login(CLIENT, "dashboard", password, "require")
    assert (rc, out) == (0, "dashboard|t"), out
    rc, out = login(CLIENT, "dashboard", password, "disable")
    assert rc != 0, out
    assert "no encryption" in out, out
    rc, out = login(CLIENT, "dashboard", password + "x", "require")
    assert rc != 0, out
    assert "password authentication failed" in out, out


def test_postgresql_refuses_default_users() -> None:
    for user, password in (("postgres", "postgres"), ("postgres", ""), ("dashboard", "dashboard")):
        rc, out = login(CLIENT, user, password or "x", "require")
        assert rc != 0, (user, out)


def test_postgresql_is_not_reachable_from_outside_the_app_network() -> None:
    # The edge is outside the app network: the firewall drops its packets (no psql there, so
    # that the audit does not take the edge for a PostgreSQL host).
    result = EDGE.run(f"timeout 5 bash -c '</dev/tcp/{db_ip()}/5432'")
    assert result.rc != 0, result.stdout


def test_backup_is_encrypted_to_the_team_key_and_was_restored() -> None:
    assert must_run(DB, "systemctl is-active rampart-backup.timer").strip() == "active"
    newest = must_run(DB, "ls -1t /var/backups/rampart/ | grep '^pg-dashboard-.*\\.dump\\.age$' | head -1").strip()
    assert newest, "no age-encrypted dump of the dashboard database"
    ciphertext = must_run(DB, f"base64 -w0 /var/backups/rampart/{newest}")
    target = EPHEMERAL / "verify-backup.age"
    subprocess.run(["bash", "-c", f"base64 -d > {target}"], input=ciphertext, text=True, check=True)
    assert target.read_bytes().startswith(b"age-encryption.org/v1"), "not an age file"
    plain = subprocess.run(
        ["age", "-d", "-i", str(EPHEMERAL / "backup-age.key"), str(target)], capture_output=True, check=True
    ).stdout
    assert plain.startswith(b"PGDMP"), plain[:16]
    restore = json.loads(must_run(DB, "cat /var/lib/rampart-backup/last-restore.json"))
    assert restore, restore


@pytest.mark.parametrize("host", ["rampart-stack-ops-edge", "rampart-stack-ops-db"])
def test_audit_grade(host: str) -> None:
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
