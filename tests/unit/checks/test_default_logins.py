"""SEC-05 tries the well-known default pairs on the host itself, once each, and judges the answers.

A fake network stands in for the services; it records every attempt so the tests prove
one attempt per pair, the paths tried (TCP loopback and unix socket) and no retries.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from check_helpers import assert_status, lab_commands, run
from test_postgresql import PG_FILES, hardened, pg_facts

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.probes.credentials import (
    ACCEPTED,
    REFUSED,
    UNKNOWN,
    UNREACHABLE,
    LocalNetwork,
    _amqp_start_ok,
    _classify_pg_error,
    default_logins,
)

REDIS_CONF = "/etc/redis/redis.conf"


class FakeNetwork:
    """Answers like a service with the given accepted (user, password) pairs per path."""

    def __init__(self, accepted=(), unreachable=(), unknown=False) -> None:
        self.accepted = set(accepted)
        self.unreachable = set(unreachable)
        self.unknown = unknown
        self.calls: list[tuple[str, str, str, str]] = []

    def _answer(self, service: str, where: str, user: str, password: str) -> tuple[str, str]:
        self.calls.append((service, where, user, password))
        if where in self.unreachable:
            return UNREACHABLE, "connection refused"
        if self.unknown:
            return UNKNOWN, "odd answer"
        if (service, where, user, password) in self.accepted:
            return ACCEPTED, "logged in"
        return REFUSED, "password authentication failed"

    def pg_login(self, host, port, user, password):
        return self._answer("pg", host, user, password)

    def redis_auth(self, address, user, password):
        where = address if isinstance(address, str) else f"{address[0]}:{address[1]}"
        return self._answer("redis", where, user, password)

    def rabbit_http(self, port, user, password):
        return self._answer("rabbit", f"http:{port}", user, password)

    def rabbit_amqp(self, port, user, password):
        return self._answer("rabbit", f"amqp:{port}", user, password)


def with_network(facts, network):
    facts.network = network
    return facts


def login_roles(*names: str) -> dict:
    snapshot = hardened()
    snapshot["roles"] = [
        {"name": n, "super": n == "postgres", "createrole": False, "createdb": False, "login": True,
         "replication": False, "password": "scram-sha-256"}
        for n in names
    ]  # fmt: skip
    return snapshot


def test_local_only_default_postgres_password_fails(make_facts):
    """postgres/postgres accepted over TCP loopback only: found, and named with the path."""
    net = FakeNetwork(accepted={("pg", "127.0.0.1", "postgres", "postgres")})
    result = run("SEC-05", with_network(pg_facts(make_facts, login_roles("postgres", "app")), net))
    assert_status(result, Status.FAIL)
    assert "postgresql postgres/postgres via tcp 127.0.0.1:5432: accepted" in result.message


def test_every_pair_is_tried_once_on_both_paths(make_facts):
    net = FakeNetwork()
    result = run("SEC-05", with_network(pg_facts(make_facts, login_roles("postgres", "app")), net))
    assert_status(result, Status.PASS)
    counts = Counter(net.calls)
    assert max(counts.values()) == 1  # never the same pair twice
    pg = [c for c in net.calls if c[0] == "pg"]
    assert {c[1] for c in pg} == {"127.0.0.1", "/var/run/postgresql"}
    assert ("pg", "127.0.0.1", "app", "app") in counts  # the role's own name is a default too
    assert ("pg", "/var/run/postgresql", "postgres", "postgres") in counts
    assert any("postgresql via unix /var/run/postgresql: 9 refused" in e for e in result.evidence)


def test_unreachable_path_stops_trying_that_role(make_facts):
    net = FakeNetwork(unreachable={"/var/run/postgresql"})
    result = run("SEC-05", with_network(pg_facts(make_facts, login_roles("postgres")), net))
    assert_status(result, Status.PASS)
    socket_calls = [c for c in net.calls if c[1] == "/var/run/postgresql"]
    assert len(socket_calls) == 1


def test_unreadable_server_still_tries_postgres(make_facts):
    facts = make_facts(commands=lab_commands(psql=(2, "", "psql: error: connection refused")), files=PG_FILES)
    net = FakeNetwork(accepted={("pg", "/var/run/postgresql", "postgres", "postgres")})
    result = run("SEC-05", with_network(facts, net))
    assert_status(result, Status.FAIL)
    assert "unix /var/run/postgresql" in result.message


def test_redis_default_user_without_password_over_the_unix_socket(make_facts):
    conf = "bind 127.0.0.1\nport 6379\nunixsocket /run/redis/redis.sock\nuser default off\nuser app on #ab ~a:* +get\n"
    facts = make_facts(commands=lab_commands(), files={REDIS_CONF: (conf, 0o640)})
    sock = facts.host_path("/run/redis/redis.sock")
    net = FakeNetwork(accepted={("redis", sock, "app", "app")})
    result = run("SEC-05", with_network(facts, net))
    assert_status(result, Status.FAIL)
    assert "redis app/app via unix /run/redis/redis.sock: accepted" in result.message
    assert ("redis", "127.0.0.1:6379", "default", "") in net.calls  # empty password: a bare PING


def test_rabbitmq_guest_falls_back_to_amqp(make_facts):
    facts = make_facts(
        commands=lab_commands(), files={"/etc/rabbitmq/rabbitmq.conf": "listeners.tcp.1 = 127.0.0.1:5672\n"}
    )
    net = FakeNetwork(unreachable={"http:15672"}, accepted={("rabbit", "amqp:5672", "guest", "guest")})
    result = run("SEC-05", with_network(facts, net))
    assert_status(result, Status.FAIL)
    assert "rabbitmq guest/guest via amqp 127.0.0.1:5672: accepted" in result.message


def test_inconclusive_answers_are_an_error_not_a_pass(make_facts):
    result = run("SEC-05", with_network(pg_facts(make_facts, login_roles("postgres")), FakeNetwork(unknown=True)))
    assert_status(result, Status.ERROR)
    assert "postgresql" in result.message


def test_file_tree_audit_makes_no_attempt(make_facts):
    facts = pg_facts(make_facts, login_roles("postgres"))
    assert default_logins(facts) is None
    result = run("SEC-05", facts)
    assert_status(result, Status.PASS)
    assert "login attempts skipped" in result.evidence[0]


@pytest.mark.parametrize(
    ("message", "outcome"),
    [
        ('FATAL:  password authentication failed for user "postgres"', REFUSED),
        ('FATAL:  no pg_hba.conf entry for host "127.0.0.1", user "postgres"', UNREACHABLE),
        ('FATAL:  Peer authentication failed for user "postgres"', UNREACHABLE),
        ("connection to server at 127.0.0.1, port 5432 failed: Connection refused", UNREACHABLE),
        ("something else entirely", UNKNOWN),
    ],
)
def test_postgres_errors_are_classified(message, outcome):
    assert _classify_pg_error(message)[0] == outcome


def test_amqp_start_ok_frame_is_well_formed():
    frame = _amqp_start_ok("guest", "guest")
    assert frame[0] == 1
    assert frame[-1] == 0xCE
    size = int.from_bytes(frame[3:7], "big")
    assert len(frame) == 7 + size + 1
    assert b"PLAIN" in frame
    assert b"\x00guest\x00guest" in frame


def test_redis_resp_against_a_real_socket(tmp_path):
    """The raw RESP client against a tiny server on a unix socket in tmp (no real Redis needed)."""
    import socket  # noqa: PLC0415
    import threading  # noqa: PLC0415

    path = str(tmp_path / "redis.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    seen: list[bytes] = []

    def serve() -> None:
        for _unused in range(2):
            conn, _unused = server.accept()
            with conn:
                data = conn.recv(512)
                seen.append(data)
                conn.sendall(b"+OK\r\n" if b"s3cret-default" in data else b"-WRONGPASS invalid username-password\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    net = LocalNetwork()
    assert net.redis_auth(path, "default", "nope")[0] == REFUSED
    assert net.redis_auth(path, "default", "s3cret-default")[0] == ACCEPTED
    thread.join(5)
    server.close()
    assert seen[0] == b"*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$4\r\nnope\r\n"
    assert json.dumps(seen[1].decode()).count("AUTH") == 1
