"""What the controller needs to probe a host from the outside, read on the host with the audit.

``security_audit`` returns this with its report (option ``probe_facts``), so a fleet audit needs
one call per host instead of ``setup`` + a fingerprint shell + an intent ``slurp``:

- ``address``: the host's source address on its default route (what ``ansible_default_ipv4``
  reports), for connections that have no routable ``ansible_host`` (podman, docker, lxd);
- ``fingerprints``: SHA-256 of the leaf certificate of every ``ssl_certificate`` that
  ``nginx -T`` names, as ``openssl x509 -fingerprint -sha256`` prints it;
- ``firewall_services``: the ``services`` of the firewall intent (the ports opened on purpose);
- ``ssh_port``: the port sshd listens on, so that ssh-audit judges SSH-03 from the outside.

Everything is read-only and goes through ``Facts`` (commands are cached per run, so the
``nginx -T`` the checks already ran is not run again).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import socket
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.probes.ssh import sshd

# A documentation address (RFC 5737): connect() on a UDP socket sends nothing, it only
# makes the kernel pick the route and so the source address.
ROUTE_PROBE = ("192.0.2.1", 9)
SSL_CERTIFICATE = re.compile(r"^\s*ssl_certificate\s+(?P<q>[\"']?)(?P<path>[^\s;\"']+)(?P=q)\s*;", re.MULTILINE)
PEM_CERTIFICATE = re.compile(
    r"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]+?)"
    r"-----END (?:X509 |TRUSTED )?CERTIFICATE-----"
)


def default_route_address() -> str | None:
    """IPv4 source address of the default route, or None when the host has no route out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.connect(ROUTE_PROBE)
        address = sock.getsockname()[0]
    except OSError:
        return None
    finally:
        sock.close()
    return None if address in ("0.0.0.0", "") or address.startswith("127.") else address


def certificate_paths(nginx_dump: str) -> list[str]:
    """``ssl_certificate`` files named in ``nginx -T`` output (variables such as $ssl_server_name skipped)."""
    paths = {m.group("path") for m in SSL_CERTIFICATE.finditer(nginx_dump)}
    return sorted(p for p in paths if "$" not in p and not p.startswith("data:"))


def leaf_fingerprint(pem: str) -> str | None:
    """SHA-256 of the first certificate of a PEM file, ``AB:CD:...`` as openssl prints it."""
    match = PEM_CERTIFICATE.search(pem)
    if match is None:
        return None
    try:
        der = base64.b64decode("".join(match.group("body").split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def served_fingerprints(facts: Facts) -> list[str]:
    """Fingerprints of the certificates nginx is configured to serve (empty without nginx)."""
    if not facts.which("nginx"):
        return []
    dump = facts.run(("nginx", "-T")).stdout
    found = set()
    for path in certificate_paths(dump):
        try:
            text = facts.read_text(path)
        except ProbeError:
            continue  # unreadable: the certificate checks report it; the probe just has nothing to compare
        fingerprint = leaf_fingerprint(text) if text else None
        if fingerprint:
            found.add(fingerprint)
    return sorted(found)


def firewall_services(facts: Facts) -> list[dict[str, Any]]:
    """The ``services`` list of the firewall intent, as the role recorded it (empty without one)."""
    try:
        intent = facts.intent("firewall")
    except ProbeError:  # unreadable or malformed: the audit's checks report it
        return []
    services = intent.get("services") if isinstance(intent, dict) else None
    return [item for item in services if isinstance(item, dict)] if isinstance(services, list) else []


def ssh_port(facts: Facts) -> int | None:
    """The first port sshd listens on (``sshd -T``), for ssh-audit from outside; None without sshd."""
    try:
        effective = sshd(facts)
    except ProbeError:  # sshd -T failed: SSH-01/02 report it from the inside
        return None
    ports = (effective or {}).get("port") or []
    return int(ports[0]) if ports and ports[0].isdigit() else None


def probe_facts(facts: Facts) -> dict[str, Any]:
    """Everything the controller needs to probe this host from the outside."""
    return {
        "address": default_route_address(),
        "fingerprints": served_fingerprints(facts),
        "firewall_services": firewall_services(facts),
        "ssh_port": ssh_port(facts),
    }
