"""Parse ``ss -Htulpn`` (listening TCP/UDP sockets, numeric, with processes)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import (
    ParseError,
    Unparsed,
    nothing_parsed,
    strict,
)

PROCESS = re.compile(r'\("(?P<name>[^"]+)",pid=(?P<pid>\d+)')
WILDCARDS = ("*", "0.0.0.0", "::", "[::]")
# Database and broker ports that must never be reachable from anywhere (NET-04 and the
# outside-in probe): PostgreSQL, Redis (plain, and TLS as the redis role serves it), MySQL,
# RabbitMQ (AMQP, management, epmd, clustering), ClickHouse, Elasticsearch, MongoDB, memcached.
# Database and broker ports (NET-04); 5671 AMQPS and 9440 ClickHouse native TLS are data ports too (issue 20).
DATA_PORTS: tuple[int, ...] = (
    5432,
    6379,
    6380,
    3306,
    5671,
    5672,
    15672,
    4369,
    25672,
    8123,
    9000,
    9440,
    9200,
    27017,
    11211,
)


@dataclass(frozen=True)
class Listener:
    proto: str
    address: str
    port: int
    process: str | None
    pid: int | None
    interface: str | None = None

    @property
    def endpoint(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.proto}/{address}:{self.port}"

    @property
    def is_wildcard(self) -> bool:
        return self.address in WILDCARDS

    @property
    def is_loopback(self) -> bool:
        if self.interface == "lo":
            return True
        try:
            ip = ipaddress.ip_address(self.address)
        except ValueError:
            return False
        mapped = getattr(ip, "ipv4_mapped", None)
        return ip.is_loopback or bool(mapped and mapped.is_loopback)

    def evidence(self) -> str:
        owner = f" ({self.process} pid {self.pid})" if self.process else ""
        return f"{self.endpoint}{owner}"


def _split_address(local: str) -> tuple[str, int, str | None]:
    """``0.0.0.0:80``, ``*:22``, ``[::]:443``, ``:::22``, ``[fe80::1%eth0]:546``, ``127.0.0.53%lo:53``."""
    host, sep, port = local.rpartition(":")
    if not sep or not port.isdigit():
        raise ParseError(f"bad local address {local!r}")
    host = host.strip("[]")
    interface = None
    if "%" in host:
        host, _unused, interface = host.partition("%")
    return host or "*", int(port), interface


PROTOS = {"tcp": "tcp", "tcp6": "tcp", "udp": "udp", "udp6": "udp"}
STATES = {"LISTEN": "tcp", "UNCONN": "udp"}  # ss prints no Netid column when asked for one protocol


def _listener(line: str) -> Listener:
    fields = line.split()
    if fields[0] in PROTOS:
        proto, rest = PROTOS[fields[0]], fields[1:]
    elif fields[0] in STATES:
        proto, rest = STATES[fields[0]], fields
    else:
        raise ParseError("not a tcp/udp socket line")
    # State Recv-Q Send-Q Local Peer [users:((...))]: the process column is absent without root.
    if len(rest) < 5 or not rest[1].isdigit() or not rest[2].isdigit():
        raise ParseError("expected 'State Recv-Q Send-Q Local Peer [Process]'")
    address, port, interface = _split_address(rest[3])
    process = PROCESS.search(line)
    return Listener(
        proto=proto,
        address=address,
        port=port,
        process=process.group("name") if process else None,
        pid=int(process.group("pid")) if process else None,
        interface=interface,
    )


def parse_ss_lenient(text: str) -> tuple[list[Listener], list[Unparsed]]:
    """``ss -Htulpn`` stdout -> (listeners, lines skipped); ParseError when no line parses."""
    listeners: list[Listener] = []
    unparsed: list[Unparsed] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            listeners.append(_listener(line))
        except ParseError as exc:
            unparsed.append(Unparsed("ss -Htulpn line", number, line, str(exc)))
    nothing_parsed(len(listeners), unparsed)
    return listeners, unparsed


def parse_ss(text: str) -> list[Listener]:
    """``ss -Htulpn`` stdout -> listeners (both LISTEN tcp and UNCONN udp); any bad line raises."""
    listeners, unparsed = parse_ss_lenient(text)
    strict(unparsed)
    return listeners
