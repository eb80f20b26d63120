"""Filters that turn the firewall role's declarations into rule-ready data.

The role validates every value first (tasks/validate.yml); these filters then do the
bookkeeping that is awkward in Jinja: merging presets into services, expanding named
source sets (``@app_tier``), and splitting sources into IPv4 and IPv6 lists so that the
nftables template writes ``ip saddr`` and ``ip6 saddr`` rules for the right family.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: firewall_rules
short_description: Normalise firewall services, sources and ports for rule templates
description:
  - C(firewall_services) merges presets into declared services, expands C(@set)
    references and splits sources by address family.
  - C(firewall_split_cidrs) splits a list of CIDRs into C(v4) and C(v6) lists.
  - C(firewall_ports) renders a port list (C(22), C("8000-8100")) for nftables.
  - C(firewall_intent) reduces a normalised service to what the intent file records.
author: Rampart maintainers
"""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_RANGE = re.compile(r"^([0-9]+)-([0-9]+)$")


def _port_item(value: Any) -> str:
    """One port or range as text, or raise with the bad value."""
    if isinstance(value, bool):
        raise AnsibleFilterError(f"port {value!r} is not a port or range")
    text = str(value).strip()
    match = _RANGE.match(text)
    if match:
        low, high = int(match.group(1)), int(match.group(2))
        if 1 <= low < high <= 65535:
            return f"{low}-{high}"
    elif text.isdigit() and 1 <= int(text) <= 65535:
        return str(int(text))
    raise AnsibleFilterError(f"port {value!r} is not a port 1-65535 or a range low-high")


def firewall_ports(ports: Iterable[Any]) -> str:
    """``[22, "8000-8100"]`` -> ``"{ 22, 8000-8100 }"`` (a bare port for a single one)."""
    items = [_port_item(port) for port in ports]
    if not items:
        raise AnsibleFilterError("an empty port list cannot be rendered")
    unique = list(dict.fromkeys(items))
    return unique[0] if len(unique) == 1 and "-" not in unique[0] else "{ " + ", ".join(unique) + " }"


def firewall_split_cidrs(cidrs: Iterable[Any]) -> dict[str, list[str]]:
    """Split CIDRs (bare addresses allowed) into normalised ``v4`` and ``v6`` lists."""
    result: dict[str, list[str]] = {"v4": [], "v6": []}
    for cidr in cidrs or []:
        try:
            network = ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError as exc:
            raise AnsibleFilterError(f"{cidr!r} is not a CIDR") from exc
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        key = "v4" if network.version == 4 else "v6"
        if text not in result[key]:
            result[key].append(text)
    return result


def _expand_sources(sources: Iterable[Any], sets: Mapping[str, Any], where: str) -> list[str]:
    expanded: list[str] = []
    for source in sources or []:
        text = str(source).strip()
        if text.startswith("@"):
            name = text[1:]
            if name not in sets:
                raise AnsibleFilterError(f"{where}: source set {text!r} is not defined in rampart_firewall_sets")
            expanded.extend(str(member) for member in sets[name] or [])
        else:
            expanded.append(text)
    return expanded


def firewall_services(
    services: Iterable[Mapping[str, Any]],
    presets: Mapping[str, Mapping[str, Any]] | None = None,
    sets: Mapping[str, Any] | None = None,
    address_key: str = "sources",
    variable: str = "rampart_firewall_services",
) -> list[dict[str, Any]]:
    """Return each service with preset values merged and sources resolved.

    Output keys: name, ports (list of text), protocol, sources (the resolved CIDRs),
    sources_v4, sources_v6, any_source, rate_limit, rate_burst, log, docker, comment.
    ``address_key="destinations"`` reads outbound allow rules the same way (their
    destinations come back under the ``sources*`` keys).
    """
    presets = presets or {}
    sets = sets or {}
    normalised: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, service in enumerate(services or []):
        if not isinstance(service, Mapping) or not service.get("name"):
            raise AnsibleFilterError(f"{variable}[{index}] needs a name")
        name = str(service["name"])
        where = f"{variable}[{index}] ({name})"
        if not _NAME.match(name):
            raise AnsibleFilterError(f"{where}: name must match {_NAME.pattern}")
        if name in seen:
            raise AnsibleFilterError(f"{where}: duplicate service name")
        seen.add(name)
        preset = dict(presets.get(str(service.get("preset", name)), {}))
        merged = {**preset, **{k: v for k, v in service.items() if v is not None}}
        ports = merged.get("ports")
        if isinstance(ports, (int, str)):
            ports = [ports]
        if not ports:
            raise AnsibleFilterError(f"{where}: no ports, and no preset named {name!r}")
        protocol = str(merged.get("protocol", "tcp"))
        if protocol not in ("tcp", "udp"):
            raise AnsibleFilterError(f"{where}: protocol {protocol!r} is not tcp or udp")
        sources = _expand_sources(merged.get(address_key, []), sets, where)
        try:
            split = firewall_split_cidrs(sources)
            port_items = list(dict.fromkeys(_port_item(port) for port in ports))
        except AnsibleFilterError as exc:
            raise AnsibleFilterError(f"{where}: {exc.message}") from exc
        normalised.append(
            {
                "name": name,
                "ports": port_items,
                "protocol": protocol,
                "sources": split["v4"] + split["v6"],
                "sources_v4": split["v4"],
                "sources_v6": split["v6"],
                "any_source": not sources,
                "rate_limit": merged.get("rate_limit") or None,
                "rate_burst": int(merged.get("rate_burst", 5)),
                "log": bool(merged.get("log", False)),
                "docker": bool(merged.get("docker", False)),
                "comment": str(merged.get("comment", name)).replace('"', "'"),
            }
        )
    return normalised


def firewall_intent(service: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a normalised service the audit reads from the intent file."""
    ports: list[Any] = [int(p) if str(p).isdigit() else str(p) for p in service.get("ports", [])]
    return {
        "name": service.get("name"),
        "protocol": service.get("protocol", "tcp"),
        "ports": ports,
        "sources": ["any"] if service.get("any_source") else list(service.get("sources", [])),
        "rate_limit": service.get("rate_limit"),
        "docker": bool(service.get("docker", False)),
    }


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "firewall_services": firewall_services,
            "firewall_split_cidrs": firewall_split_cidrs,
            "firewall_ports": firewall_ports,
            "firewall_intent": firewall_intent,
        }
