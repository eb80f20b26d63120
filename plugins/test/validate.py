"""Jinja tests that roles use to validate input before they change anything.

Each test answers one question about one value, so a role's validate.yml reads as a
list of plain assertions, and its fail_msg can name the variable and the bad value:

    - ansible.builtin.assert:
        that: item is rampart.hardening.cidr
        fail_msg: "rampart_firewall_services[].sources: '{{ item }}' is not a CIDR"
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.exposure import exposed_bind, wildcard_bind, world_open
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sockets import DATA_PORTS

DOCUMENTATION = r"""
name: validate
short_description: Input validation tests for Rampart roles
description:
  - C(cidr), C(ip_address), C(port), C(nginx_rate), C(nginx_size), C(nginx_time),
    C(header_value), C(server_name), C(host_port) and C(strong_secret) test single
    values, for use in C(ansible.builtin.assert) before a role changes anything.
  - C(world_open) (a source admitting every address, in any spelling), C(wildcard_bind)
    (a listen address meaning every interface) and C(exposed_bind) (a wildcard or public
    listen address) share their implementation with the audit's checks, so a role refuses
    exactly what its audit would fail.
author: Rampart maintainers
"""

_NGINX_RATE = re.compile(r"^[1-9][0-9]*r/[sm]$")
_NGINX_SIZE = re.compile(r"^(0|[1-9][0-9]*)[kKmMgG]?$")
_NGINX_TIME = re.compile(r"^(?:[1-9][0-9]*(?:ms|s|m|h|d)?)+$|^0$")
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
# Values people paste from tutorials and vendor docs, compared case-insensitively.
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "admin",
        "admin123",
        "changeme",
        "change-me",
        "default",
        "guest",
        "letmein",
        "password",
        "password1",
        "password123",
        "postgres",
        "redis",
        "root",
        "secret",
        "test",
        "toor",
        "12345678",
        "123456789012",
        "qwerty",
        "foobared",
    }
)
MIN_SECRET_LENGTH = 12


def cidr(value: Any) -> bool:
    """An IPv4 or IPv6 network (a bare address counts as a /32 or /128)."""
    if not isinstance(value, str) or not value.strip():
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def ip_address(value: Any) -> bool:
    """A single IPv4 or IPv6 address."""
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def port(value: Any) -> bool:
    """A TCP/UDP port number 1-65535 (int or digit string)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return isinstance(value, int) and 1 <= value <= 65535


def nginx_rate(value: Any) -> bool:
    """An nginx limit_req_zone rate such as ``10r/s`` or ``5r/m``."""
    return isinstance(value, str) and bool(_NGINX_RATE.match(value))


def nginx_size(value: Any) -> bool:
    """An nginx size such as ``10m``, ``512k`` or ``1024``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value >= 0
    return isinstance(value, str) and bool(_NGINX_SIZE.match(value))


def nginx_time(value: Any) -> bool:
    """An nginx time such as ``10s``, ``1m30s`` or ``500ms``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value >= 0
    return isinstance(value, str) and bool(_NGINX_TIME.match(value))


def header_value(value: Any) -> bool:
    """A value safe to place in an nginx add_header: no CR/LF, no quote, no ``;`` break-out."""
    if not isinstance(value, str):
        return False
    return not any(ch in value for ch in '\r\n"') and not value.rstrip().endswith(";")


def server_name(value: Any) -> bool:
    """A DNS name, optionally with a leading ``*.`` wildcard, or an IP address."""
    if not isinstance(value, str) or not value or len(value) > 253:
        return False
    if ip_address(value):
        return True
    name = value[2:] if value.startswith("*.") else value
    labels = name.rstrip(".").split(".")
    return all(_DNS_LABEL.match(label) for label in labels)


def host_port(value: Any) -> bool:
    """``host:port``, ``[v6]:port``, ``unix:/path`` or a bare host for an upstream server."""
    if not isinstance(value, str) or not value:
        return False
    if value.startswith("unix:/"):
        return True
    if value.startswith("["):
        address, _unused, rest = value[1:].partition("]")
        return ip_address(address) and (rest == "" or (rest.startswith(":") and port(rest[1:])))
    host, sep, port_text = value.rpartition(":")
    if not sep:
        return server_name(value)
    return server_name(host) and port(port_text)


def data_port(value: Any) -> bool:
    """A database or broker port the audit guards (NET-04), or a ``low-high`` range holding one."""
    text = str(value).strip()
    if text.isdigit():
        return int(text) in DATA_PORTS
    low, sep, high = text.partition("-")
    if sep and low.isdigit() and high.isdigit():
        return any(int(low) <= p <= int(high) for p in DATA_PORTS)
    return False


def strong_secret(value: Any) -> bool:
    """At least 12 characters and not a well-known default password."""
    return isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value.lower() not in KNOWN_DEFAULT_SECRETS


class TestModule:
    """Ansible test plugin entry point."""

    def tests(self) -> dict[str, Any]:
        return {
            "cidr": cidr,
            "ip_address": ip_address,
            "port": port,
            "nginx_rate": nginx_rate,
            "nginx_size": nginx_size,
            "nginx_time": nginx_time,
            "header_value": header_value,
            "server_name": server_name,
            "host_port": host_port,
            "strong_secret": strong_secret,
            "world_open": world_open,
            "wildcard_bind": wildcard_bind,
            "exposed_bind": exposed_bind,
            "data_port": data_port,
        }
