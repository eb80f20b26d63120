"""Default credentials tried on the host itself (SEC-05), the way a local attacker would.

The audit runs on the host, so it can reach what only loopback and the unix sockets
reach. For every service present it tries the well-known default pairs ONCE each (no
service here locks accounts, and one attempt per pair never could): PostgreSQL roles
that can log in (TCP loopback and the unix socket, password authentication), Redis users
(loopback and the unix socket when configured, raw RESP), RabbitMQ guest (management API
on loopback, else an AMQP 0-9-1 handshake on 5672). Passwords never appear in argv
(psql gets PGPASSWORD in its environment). The check only judges the attempts' results.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import subprocess
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.probes.postgresql import postgresql
from ansible_collections.rampart.hardening.plugins.module_utils.probes.postgresql import present as pg_present
from ansible_collections.rampart.hardening.plugins.module_utils.probes.redis import redis

TIMEOUT = 3.0
PG_SOCKET_DIR = "/var/run/postgresql"
PG_DEFAULT_PASSWORDS = ("postgres", "password", "changeme", "admin123")
PG_MAX_ROLES = 10
REDIS_DEFAULTS = (("default", ""), ("default", "foobared"), ("default", "redis"), ("default", "password"))
REDIS_MAX_USERS = 10
RABBIT_DEFAULTS = (("guest", "guest"), ("admin", "admin"), ("admin", "admin123"))
ACCEPTED, REFUSED, UNREACHABLE, UNKNOWN = "accepted", "refused", "unreachable", "unknown"


@dataclass(frozen=True)
class Attempt:
    """One login attempt with a default pair: where, who, and what the service answered."""

    service: str
    via: str  # "tcp 127.0.0.1:5432", "unix /var/run/postgresql", ...
    user: str
    password: str  # a well-known default, never a real secret
    outcome: str  # accepted | refused | unreachable | unknown
    detail: str = ""

    def text(self) -> str:
        shown = self.password if self.password else "(empty password)"
        return f"{self.service} {self.user}/{shown} via {self.via}: {self.outcome}" + (
            f" ({self.detail})" if self.detail else ""
        )


class Network(Protocol):
    """How attempts reach the services (tests replace it with a fake)."""

    def pg_login(self, host: str, port: int, user: str, password: str) -> tuple[str, str]: ...

    def redis_auth(self, address: tuple[str, int] | str, user: str, password: str) -> tuple[str, str]: ...

    def rabbit_http(self, port: int, user: str, password: str) -> tuple[str, str]: ...

    def rabbit_amqp(self, port: int, user: str, password: str) -> tuple[str, str]: ...


# ----- the real network --------------------------------------------------------------------
def _classify_pg_error(message: str) -> tuple[str, str]:
    text = message.strip().splitlines()[0] if message.strip() else "no message"
    lowered = message.lower()
    if any(word in lowered for word in ("no pg_hba.conf entry", "peer authentication", "ident authentication")):
        return UNREACHABLE, "no password authentication on this path"
    if "authentication failed" in lowered:
        return REFUSED, "password authentication failed"
    if "connection refused" in lowered or "no such file" in lowered or "could not connect" in lowered:
        return UNREACHABLE, text[:120]
    return UNKNOWN, text[:120]


class LocalNetwork:
    """Real attempts from the audited host (psycopg2 if importable, else psql; raw sockets)."""

    def pg_login(self, host: str, port: int, user: str, password: str) -> tuple[str, str]:
        try:
            import psycopg2  # noqa: PLC0415 - optional on the host
        except ImportError:
            return self._psql_login(host, port, user, password)
        try:
            conn = psycopg2.connect(
                host=host, port=port, user=user, password=password, dbname="postgres", connect_timeout=int(TIMEOUT)
            )
        except psycopg2.OperationalError as exc:
            return _classify_pg_error(str(exc))
        conn.close()
        return ACCEPTED, "logged in"

    @staticmethod
    def _psql_login(host: str, port: int, user: str, password: str) -> tuple[str, str]:
        dsn = f"host={host} port={port} user={user} dbname=postgres connect_timeout={int(TIMEOUT)}"
        env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT=str(int(TIMEOUT)), LC_ALL="C")
        try:
            proc = subprocess.run(
                ["psql", "-XAtqw", dsn, "-c", "SELECT 1"],
                capture_output=True,
                text=True,
                env=env,
                timeout=TIMEOUT + 2,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            return UNKNOWN, "neither psycopg2 nor psql is available"
        except subprocess.TimeoutExpired:
            return UNKNOWN, "psql timed out"
        if proc.returncode == 0:
            return ACCEPTED, "logged in"
        return _classify_pg_error(proc.stderr)

    def redis_auth(self, address: tuple[str, int] | str, user: str, password: str) -> tuple[str, str]:
        family = (
            socket.AF_UNIX if isinstance(address, str) else socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        )
        command = ["PING"] if not password else ["AUTH", user, password]
        payload = f"*{len(command)}\r\n".encode() + b"".join(
            f"${len(part.encode())}\r\n".encode() + part.encode() + b"\r\n" for part in command
        )
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(TIMEOUT)
                sock.connect(address)
                sock.sendall(payload)
                answer = sock.recv(512).decode("utf-8", "replace").strip()
        except OSError as exc:
            return UNREACHABLE, exc.strerror or str(exc)
        if answer in ("+OK", "+PONG"):
            return ACCEPTED, "no password needed" if not password else "AUTH accepted"
        if answer.startswith(("-WRONGPASS", "-NOAUTH", "-ERR invalid password", "-ERR AUTH")):
            return REFUSED, answer.split()[0].lstrip("-")
        return UNKNOWN, answer[:80] or "no answer"

    def rabbit_http(self, port: int, user: str, password: str) -> tuple[str, str]:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/whoami", headers={"Authorization": f"Basic {token}"}
        )
        try:
            with urllib.request.build_opener().open(request, timeout=TIMEOUT) as response:
                return (ACCEPTED, "management API answered 200") if response.status == 200 else (UNKNOWN, "")
        except urllib.error.HTTPError as exc:
            return (REFUSED, f"HTTP {exc.code}") if exc.code in (401, 403) else (UNKNOWN, f"HTTP {exc.code}")
        except (OSError, ValueError) as exc:
            return UNREACHABLE, str(getattr(exc, "reason", exc))[:80]

    def rabbit_amqp(self, port: int, user: str, password: str) -> tuple[str, str]:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
                sock.sendall(b"AMQP\x00\x00\x09\x01")
                if _amqp_method(sock) != (10, 10):  # connection.start
                    return UNKNOWN, "no connection.start"
                sock.sendall(_amqp_start_ok(user, password))
                reply = _amqp_method(sock)
        except OSError as exc:
            return UNREACHABLE, exc.strerror or str(exc)
        if reply == (10, 30):  # connection.tune: credentials accepted
            return ACCEPTED, "AMQP handshake accepted"
        return REFUSED, "AMQP handshake refused"


def _amqp_method(sock: socket.socket) -> tuple[int, int] | None:
    """(class, method) of the next AMQP method frame, None when the server hung up."""
    header = b""
    while len(header) < 7:
        chunk = sock.recv(7 - len(header))
        if not chunk:
            return None
        header += chunk
    kind, _unused, size = struct.unpack(">BHI", header)
    body = b""
    while len(body) < size + 1:
        chunk = sock.recv(size + 1 - len(body))
        if not chunk:
            return None
        body += chunk
    return struct.unpack(">HH", body[:4]) if kind == 1 else None


def _amqp_short(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">B", len(data)) + data


def _amqp_start_ok(user: str, password: str) -> bytes:
    response = f"\x00{user}\x00{password}".encode()
    args = (
        struct.pack(">HH", 10, 11)
        + struct.pack(">I", 0)  # empty client-properties table
        + _amqp_short("PLAIN")
        + struct.pack(">I", len(response))
        + response
        + _amqp_short("en_US")
    )
    return struct.pack(">BHI", 1, 0, len(args)) + args + b"\xce"


# ----- the attempts --------------------------------------------------------------------------
def _network(facts: Facts) -> Network | None:
    """The injected network, real sockets on a live host, None (no attempts) for a file tree."""
    injected = getattr(facts, "network", None)
    if injected is not None:
        return injected
    return LocalNetwork() if facts.root in ("", "/") else None


def _pg_roles(facts: Facts) -> tuple[list[str], int]:
    try:
        pg = postgresql(facts)
    except ProbeError:
        return ["postgres"], 5432  # the server could not be read: still try its default superuser
    if pg is None:
        return [], 5432
    port = int(pg.setting("port")) if pg.setting("port").isdigit() else 5432
    try:
        roles = [role.name for role in pg.roles if role.login][:PG_MAX_ROLES]
    except ProbeError:  # roles need a running server (files on disk only): try the default superuser
        roles = []
    return roles or ["postgres"], port


def pg_pairs(role: str) -> list[str]:
    """Default passwords tried for one role: the well-known ones and the role's own name."""
    return list(dict.fromkeys([*PG_DEFAULT_PASSWORDS, role]))


def _postgresql_attempts(facts: Facts, network: Network) -> list[Attempt]:
    if not pg_present(facts):
        return []
    roles, port = _pg_roles(facts)
    attempts = []
    for via, host in ((f"tcp 127.0.0.1:{port}", "127.0.0.1"), (f"unix {PG_SOCKET_DIR}", PG_SOCKET_DIR)):
        for role in roles:
            for password in pg_pairs(role):
                outcome, detail = network.pg_login(host, port, role, password)
                attempts.append(Attempt("postgresql", via, role, password, outcome, detail))
                if outcome == UNREACHABLE:
                    break  # this path does not take passwords for this role: no more tries
    return attempts


def _redis_targets(facts: Facts) -> list[tuple[str, tuple[str, int] | str]]:
    info = redis(facts)
    if info is None:
        return []
    targets: list[tuple[str, tuple[str, int] | str]] = []
    port = info.config.get("port", "6379") or "6379"
    if port.isdigit() and port != "0":
        targets.append((f"tcp 127.0.0.1:{port}", ("127.0.0.1", int(port))))
    unixsocket = info.config.get("unixsocket")
    if unixsocket:
        targets.append((f"unix {unixsocket}", facts.host_path(unixsocket)))
    return targets


def _redis_pairs(facts: Facts) -> list[tuple[str, str]]:
    pairs = list(REDIS_DEFAULTS)
    info = redis(facts)
    try:
        users = info.users if info is not None else []
    except ProbeError:
        users = []
    for user in users[:REDIS_MAX_USERS]:
        if user.enabled and user.name != "default":
            pairs += [(user.name, user.name), (user.name, "password")]
    return list(dict.fromkeys(pairs))


def _redis_attempts(facts: Facts, network: Network) -> list[Attempt]:
    attempts = []
    for via, address in _redis_targets(facts):
        for user, password in _redis_pairs(facts):
            outcome, detail = network.redis_auth(address, user, password)
            attempts.append(Attempt("redis", via, user, password, outcome, detail))
            if outcome == UNREACHABLE:
                break
    return attempts


def _rabbit_present(facts: Facts) -> bool:
    return facts.stat("/etc/rabbitmq") is not None or facts.which("rabbitmq-server")


def _rabbit_attempts(facts: Facts, network: Network) -> list[Attempt]:
    if not _rabbit_present(facts):
        return []
    attempts = []
    for user, password in RABBIT_DEFAULTS:
        outcome, detail = network.rabbit_http(15672, user, password)
        via = "http 127.0.0.1:15672 (management API)"
        if outcome == UNREACHABLE:
            outcome, detail = network.rabbit_amqp(5672, user, password)
            via = "amqp 127.0.0.1:5672"
        attempts.append(Attempt("rabbitmq", via, user, password, outcome, detail))
    return attempts


def default_logins(facts: Facts) -> list[Attempt] | None:
    """Every default-pair attempt made on this host (once per audit run); None when not attempted."""

    def probe() -> list[Attempt] | None:
        network = _network(facts)
        if network is None:
            return None
        return [
            *_postgresql_attempts(facts, network),
            *_redis_attempts(facts, network),
            *_rabbit_attempts(facts, network),
        ]

    return facts.cached("default-logins", probe)


def summarize(attempts: Sequence[Attempt]) -> list[str]:
    """Per service and path: how many defaults were refused (evidence for a pass)."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for attempt in attempts:
        entry = counts.setdefault((attempt.service, attempt.via), {})
        entry[attempt.outcome] = entry.get(attempt.outcome, 0) + 1
    return [
        f"{service} via {via}: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
        for (service, via), outcomes in counts.items()
    ]
