"""The agent-platform stack, seen from the client container as its team asked.

State: converge applied the example inventory (inventories/examples/agent-platform) with the
lab overrides; side_effect.yml audited the stack. The client container is the agent API
servers' network (the only Redis and ClickHouse client), the outside world and the log host.
Passwords reach the client's tools on standard input or in a 0600 file, never as an argument.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
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
    burst,
    curl,
    db_password,
    put_file,
)

EDGE = lab_host("rampart-stack-agents-edge")
REDIS = lab_host("rampart-stack-agents-redis")
CH_NAME = "rampart-stack-agents-ch"
CH = lab_host(CH_NAME)
CLIENT_NAME = "rampart-stack-agents-client"
CLIENT = lab_host(CLIENT_NAME)
STACK = ("rampart-stack-agents-edge", "rampart-stack-agents-redis", "rampart-stack-agents-ch")
NAME = "agents.example.com"
ROOT = "/tmp/pebble-root.pem"
CA = "/tmp/rampart-internal-ca.crt"
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""))
SCENARIO = Path(__file__).resolve().parents[1]


@cache
def ip(host: str) -> str:
    return must_run(lab_host(host), "hostname -I").split()[0]


@cache
def secret(name: str, group: str) -> str:
    return db_password(SCENARIO, name, group)


@pytest.fixture(scope="module", autouse=True)
def trust() -> None:
    """Pebble's issuing root (the edge) and the internal CA (Redis, ClickHouse) on the client."""
    must_run(CLIENT, f"curl -fsS --cacert /etc/pebble/minica.pem https://localhost:15000/roots/0 -o {ROOT}")
    put_file(CLIENT, CA, (EPHEMERAL / "ca" / "ca.crt").read_text().strip())


def get(path: str, *options: str) -> tuple[int, dict[str, str], str]:
    return curl(CLIENT, f"https://{NAME}{path}", ip("rampart-stack-agents-edge"), ROOT, *options)


def tcp(address: str, port: int) -> str:
    """A plain TCP connect from the client: open, refused or timeout."""
    return tcp_state(CLIENT, address, port)


def s_client(address: str, port: int, cafile: str, *options: str) -> tuple[int, str]:
    """openssl s_client from the client: (its exit code, its printable output).

    ClickHouse's native port answers the handshake's stray newline with a binary packet, so only
    printable bytes are kept (testinfra decodes the output as text).
    """
    command = (
        f"echo | timeout 20 openssl s_client -connect {address}:{port} -CAfile {cafile} -verify_return_error "
        + " ".join(options)
    )
    result = CLIENT.run(f"{{ {command} 2>&1; echo \"s_client rc=$?\"; }} | tr -cd '\\11\\12\\15\\40-\\176'")
    out, _, rc = result.stdout.rstrip("\n").rpartition("s_client rc=")
    return (int(rc) if rc.isdigit() else 255), out


# --- TLS on every secure port -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "port", "cafile", "server_name"),
    [
        ("rampart-stack-agents-edge", 443, ROOT, NAME),
        ("rampart-stack-agents-redis", 6380, CA, ""),
        ("rampart-stack-agents-ch", 9440, CA, ""),
        ("rampart-stack-agents-ch", 8443, CA, ""),
    ],
)
def test_tls_verifies_on_the_secure_ports(host: str, port: int, cafile: str, server_name: str) -> None:
    address = ip(host)
    check = f"-servername {server_name} -verify_hostname {server_name}" if server_name else f"-verify_ip {address}"
    rc, out = s_client(address, port, cafile, check)
    assert rc == 0, out[-1500:]
    assert "Verify return code: 0 (ok)" in out, out[-1500:]
    # The same handshake against a trust store without that CA fails.
    rc, out = s_client(address, port, "/etc/ssl/certs/ca-certificates.crt", check)
    assert "Verify return code: 0 (ok)" not in out, out[-1500:]


@pytest.mark.parametrize(
    ("host", "port"),
    [("rampart-stack-agents-redis", 6379), ("rampart-stack-agents-ch", 9000), ("rampart-stack-agents-ch", 8123)],
)
def test_plaintext_ports_are_closed(host: str, port: int) -> None:
    assert tcp(ip(host), port) in ("refused", "timeout")


# --- Redis: strong passwords, default user off, least privilege --------------------------------


def redis(user: str, password: str, *command: str) -> str:
    """One redis-cli call over TLS; the password goes in via a 0600 file read by the shell, not argv."""
    quoted = " ".join(shlex.quote(part) for part in command)
    put_file(CLIENT, "/root/.redis-pass", password)
    result = CLIENT.run(
        f'chmod 600 /root/.redis-pass; REDISCLI_AUTH="$(cat /root/.redis-pass)" redis-cli --no-auth-warning --tls '
        f"--cacert {CA} -h {ip('rampart-stack-agents-redis')} -p 6380 --user {shlex.quote(user)} {quoted}"
    )
    return (result.stdout + result.stderr).strip()


def test_redis_api_user_works_within_its_keys() -> None:
    password = secret("vault_agent_platform_redis_api_password", "cache")
    assert redis("agent-api", password, "PING") == "PONG"
    assert redis("agent-api", password, "SET", "session:verify", "1") == "OK"
    assert "NOPERM" in redis("agent-api", password, "SET", "billing:verify", "1")
    assert "NOPERM" in redis("agent-api", password, "CONFIG", "GET", "requirepass")


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("default", ""),
        ("default", "foobared"),
        ("default", "redis"),
        ("agent-api", "agent-api"),
        ("agent-api", "Wrong-password-123456"),
    ],
)
def test_redis_refuses_default_weak_and_wrong_passwords(user: str, password: str) -> None:
    out = redis(user, password or "x", "PING")
    assert out != "PONG"
    assert "WRONGPASS" in out or "NOAUTH" in out or "invalid" in out, out


def run_role_validation(role: str, variables: str) -> subprocess.CompletedProcess[str]:
    playbook = EPHEMERAL / f"weak-{role}.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        f"    - ansible.builtin.include_role:\n        name: rampart.hardening.{role}\n"
        f"        tasks_from: validate.yml\n      vars:\n{variables}"
    )
    env = dict(os.environ)
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", str(playbook)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("weak", ["foobared", "redis", "Short1"])
def test_the_redis_role_refuses_a_weak_password(weak: str) -> None:
    user = (
        "        rampart_redis_users:\n"
        "          - {name: agent-api, password: %s, keys: ['session:*'], commands: ['+@read']}\n"
    )
    refused = run_role_validation("redis", user % weak)
    assert refused.returncode != 0
    assert "Check provided passwords are strong" in refused.stdout
    # Control: the same validation with a strong password passes.
    accepted = run_role_validation("redis", user % "Strong-Agent-Api-Passw0rd-2c9f")
    assert accepted.returncode == 0, accepted.stdout[-2000:]


# --- ClickHouse: default refused from the network, app users kept to their database -------------


def ch_query(sql: str, user: str | None, password: str | None) -> tuple[int, str]:
    """POST ``sql`` over HTTPS from the client; curl reads the credentials on stdin (-K -)."""
    lines = [f'header = "X-ClickHouse-User: {user}"'] if user else []
    if password is not None:
        lines.append(f'header = "X-ClickHouse-Key: {password}"')
    config = " ".join(shlex.quote(line) for line in lines) or "''"
    result = CLIENT.run(
        f"printf '%s\\n' {config} | curl -sS -K - --max-time 10 --cacert {CA} "
        f"--data-binary {shlex.quote(sql)} -w '\\n%{{http_code}}' https://{CH_NAME}:8443/"
    )
    body, _, code = (result.stdout + result.stderr).rstrip("\n").rpartition("\n")
    return (int(code) if code.isdigit() else 0), (body or result.stderr).strip()


def writer(sql: str) -> tuple[int, str]:
    return ch_query(sql, "agent_writer", secret("vault_agent_platform_clickhouse_writer_password", "analytics"))


def reader(sql: str) -> tuple[int, str]:
    return ch_query(sql, "agent_reader", secret("vault_agent_platform_clickhouse_reader_password", "analytics"))


def test_clickhouse_default_is_refused_from_the_network() -> None:
    status, body = ch_query(
        "SELECT 1", "default", secret("vault_agent_platform_clickhouse_default_password", "analytics")
    )
    assert status != 200
    assert "not allowed" in body.lower() or "authentication" in body.lower(), body
    for password in (None, "", "default"):
        assert ch_query("SELECT 1", "default", password)[0] != 200


def test_clickhouse_writer_and_reader_are_kept_to_agent_events() -> None:
    assert writer("CREATE TABLE IF NOT EXISTS agent_events.verify (id UInt32) ENGINE = MergeTree ORDER BY id")[0] == 200
    assert writer("INSERT INTO agent_events.verify VALUES (1)")[0] == 200
    status, body = reader("SELECT count() FROM agent_events.verify")
    assert (status, body) == (200, "1") or (status == 200 and int(body) >= 1), body
    status, body = reader("INSERT INTO agent_events.verify VALUES (2)")
    assert status != 200, body
    assert "readonly" in body.lower(), body
    # ClickHouse 18.16 answers SHOW TABLES from system.tables for everyone; allow_databases
    # guards the tables themselves, so probe a table in another database.
    for query in (reader, writer):
        status, body = query("SELECT count() FROM default.verify_elsewhere")
        assert status != 200, body
        assert "access denied" in body.lower(), body


def test_clickhouse_wrong_password_is_refused() -> None:
    status, body = ch_query("SELECT 1", "agent_writer", "Wrong-password-0123456789")
    assert status != 200, body
    assert "password" in body.lower(), body


def test_the_clickhouse_role_refuses_a_weak_password() -> None:
    users = (
        "        rampart_clickhouse_users:\n"
        "          - {name: agent_writer, password: %s, networks: ['10.0.50.0/24'], databases: [agent_events]}\n"
    )
    refused = run_role_validation("clickhouse", users % "clickhouse")
    assert refused.returncode != 0
    assert "Check provided passwords are strong" in refused.stdout
    accepted = run_role_validation("clickhouse", users % "Strong-Agent-Writer-Passw0rd-77")
    assert accepted.returncode == 0, accepted.stdout[-2000:]


# --- nginx: rate zones, size limits, the login limit --------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "rate", "burst_size"),
    [("/v1/", "GET", 10, 20), ("/v1/events", "POST", 2, 10)],
)
def test_rate_zones_answer_429_at_the_declared_rate(path: str, method: str, rate: int, burst_size: int) -> None:
    time.sleep(burst_size / rate + 1)  # let the client's bucket drain from earlier tests
    codes, elapsed = burst(
        CLIENT,
        f"https://{NAME}{path}",
        address=ip("rampart-stack-agents-edge"),
        cafile=ROOT,
        count=3 * burst_size + 10,
        options=["-X", method, "--data", "x"] if method == "POST" else [],
    )
    ok, limited = codes.count(200), codes.count(429)
    print(f"\n{path}: {ok} x 200, {limited} x 429 in {elapsed:.2f} s (declared {rate} r/s, burst {burst_size})")
    assert ok + limited == len(codes), codes
    assert limited > 0, codes
    # nodelay: the burst plus one pass at once, then `rate` per second of the burst's duration.
    assert burst_size <= ok <= burst_size + 1 + rate * elapsed + 1, (ok, elapsed)


def post_body(path: str, size: int) -> int:
    result = CLIENT.run(
        f"head -c {size} /dev/zero | curl -s -o /dev/null -w '%{{http_code}}' --max-time 30 --cacert {ROOT} "
        f"--resolve {NAME}:443:{ip('rampart-stack-agents-edge')} -X POST --data-binary @- https://{NAME}{path}"
    )
    return int(result.stdout.strip())


@pytest.mark.parametrize(
    ("path", "allowed", "too_large"),
    [("/v1/", 512 * 1024, 2 * 1024 * 1024), ("/v1/events", 4 * 1024 * 1024, 9 * 1024 * 1024)],
)
def test_size_limits_answer_413(path: str, allowed: int, too_large: int) -> None:
    time.sleep(11)  # below every zone's rate: only the size decides
    assert post_body(path, too_large) == 413
    time.sleep(1)
    assert post_body(path, allowed) == 200


def test_login_limit_burst_of_5_then_throttled() -> None:
    """class auth: 1r/m with burst 5 (nodelay): the first attempt and 5 more pass, then 429."""
    codes = []
    for _ in range(8):
        status, _headers, _body = get("/v1/login", "-X", "POST", "--data", "user=a&password=b")
        codes.append(status)
    print(f"\n/v1/login: {codes}")
    assert codes[:6] == [200] * 6, codes
    assert codes[6:] == [429, 429], codes
    # A login body above the class's 16k is refused by size too.
    assert post_body("/v1/login", 32 * 1024) in (413, 429)


def test_login_accepts_only_post() -> None:
    status, _headers, _body = get("/v1/login")
    assert status in (403, 405), status


# --- services not running as root ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "process", "owner"),
    [
        ("rampart-stack-agents-redis", "redis-server", "redis"),
        ("rampart-stack-agents-ch", "clickhouse-server", "clickhouse"),
    ],
)
def test_services_do_not_run_as_root(host: str, process: str, owner: str) -> None:
    users = set(must_run(lab_host(host), f"ps -o user= -C {process}").split())
    assert users == {owner}, users


def test_nginx_workers_do_not_run_as_root() -> None:
    lines = must_run(EDGE, "ps -o user=,args= -C nginx").splitlines()
    workers = {line.split()[0] for line in lines if "worker process" in line}
    assert workers == {"www-data"}, lines


# --- LOG-03: every host ships its journal to the log host ---------------------------------------


@pytest.mark.parametrize("host", STACK)
def test_the_journal_reaches_the_log_host(host: str) -> None:
    assert_journal_reaches_log_host(host, CLIENT)


@pytest.mark.parametrize("host", STACK)
def test_the_log_channel_verifies_the_log_host(host: str) -> None:
    assert_log_channel_verifies_log_host(host, CLIENT_NAME)


# --- DOS-06: SSH from the bastion is throttled per source ----------------------------------------


@pytest.mark.parametrize("host", STACK)
def test_ssh_from_the_bastion_is_throttled_per_source(host: str) -> None:
    assert_ssh_throttled_per_source(host)


# --- the audit ------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", STACK)
def test_audit_grade(host: str) -> None:
    assert_grade(EPHEMERAL, host)
    assert_checks_pass(EPHEMERAL, host, ("LOG-03", "DOS-06"))
