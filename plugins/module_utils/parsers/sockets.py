"""Parse ``ss -Htulpn`` (listening TCP/UDP sockets, numeric, with processes)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError

PROCESS = re.compile(r'\("(?P<name>[^"]+)",pid=(?P<pid>\d+)')
WILDCARDS = ("*", "0.0.0.0", "::", "[::]")
# Database and broker ports that must never be reachable from anywhere (NET-04 and the
# outside-in probe): PostgreSQL, Redis (plain, and TLS as the redis role serves it), MySQL,
# RabbitMQ (AMQP, management, epmd, clustering), ClickHouse, Elasticsearch, MongoDB, memcached.
DATA_PORTS: tuple[int, ...] = (5432, 6379, 6380, 3306, 5672, 15672, 4369, 25672, 8123, 9000, 9200, 27017, 11211)


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
    host, sep, port = local.rpartition(":")
    if not sep or not port.isdigit():
        raise ParseError(f"bad local address {local!r}")
    host = host.strip("[]")
    interface = None
    if "%" in host:
        host, _unused, interface = host.partition("%")
    return host or "*", int(port), interface


def parse_ss(text: str) -> list[Listener]:
    """``ss -Htulpn`` stdout -> listeners (both LISTEN tcp and UNCONN udp)."""
    listeners: list[Listener] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 6 or fields[0] not in ("tcp", "udp", "tcp6", "udp6") or not fields[2].isdigit():
            raise ParseError(f"ss line {number}: not 'ss -Htulpn' output: {line[:80]!r}")
        address, port, interface = _split_address(fields[4])
        process = PROCESS.search(line)
        listeners.append(
            Listener(
                proto=fields[0].rstrip("6"),
                address=address,
                port=port,
                process=process.group("name") if process else None,
                pid=int(process.group("pid")) if process else None,
                interface=interface,
            )
        )
    return listeners
