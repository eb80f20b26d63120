#!/usr/bin/python
# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module: outside-in probes of one host, run on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: edge_probe
short_description: Probe a host from the outside (TLS, certificates, headers, exposed ports) for the audit
version_added: "0.1.0"
description:
  - Runs on the controller (C(delegate_to=localhost)) and connects only to O(host).
  - Per TLS endpoint, one handshake per protocol version (TLS 1.0 to 1.3, min = max), one per TLS 1.2 cipher
    suite the local OpenSSL can offer (at C(@SECLEVEL=0) so refusals come from the server), the served
    certificate's SHA-256 against the one the host has on disk, SAN coverage, chain verification and days
    to expiry. A protocol the local library cannot offer is reported as untestable (an error), never as a pass.
  - Per URL, the security headers on a 2xx and a 4xx response. Port 80 redirects per name. TCP reachability
    of database and broker ports; an unauthenticated Redis C(PING) (expects C(NOAUTH)); a plaintext PostgreSQL
    startup (expects refusal). An opt-in, bounded burst to see rate limiting engage.
  - Returns RV(live_results) keyed by checklist id, the input of M(rampart.hardening.security_audit).
author:
  - Rampart maintainers (@rampart)
extends_documentation_fragment:
  - rampart.hardening.attributes
  - rampart.hardening.attributes.idempotent
options:
  host:
    description: Address to probe (IP or name). Nothing else is ever contacted.
    type: str
    required: true
  tls_endpoints:
    description: TLS endpoints on O(host).
    type: list
    elements: dict
    default: []
    suboptions:
      port:
        description: TCP port.
        type: int
        default: 443
      server_name:
        description: SNI name (also checked against the certificate's SAN).
        type: str
      expected_fingerprint:
        description: SHA-256 fingerprint of the certificate on the host's disk (hex, colons allowed).
        type: str
  urls:
    description: HTTP(S) URLs whose headers are checked; the host part is used as Host/SNI only.
    type: list
    elements: str
    default: []
  redirect_names:
    description: Names that must be redirected from port 80 to https.
    type: list
    elements: str
    default: []
  ports:
    description: Ports that must not answer from the controller (checklist NET-04).
    type: list
    elements: int
    default: [5432, 6379, 6380, 3306, 5671, 5672, 15672, 4369, 25672, 8123, 9000, 9440, 9200, 27017, 11211]
  allowed_services:
    description:
      - The services the host's firewall deliberately opens, given as the C(services) list of the firewall intent
        (C(/etc/rampart/intent/firewall.json)) as it is. Each item has C(ports) (numbers or C(low-high) ranges),
        C(protocol) (only C(tcp) is considered; default C(tcp)) and C(sources) (CIDRs or addresses, or C(any));
        other keys are ignored.
      - A port of O(ports) that answers only because the controller's own address is inside such a service's
        C(sources) is reported as expected, not as an exposure. C(sources) of C(any) never excuse a port.
    type: list
    elements: dict
    default: []
  rate_limit:
    description: Opt-in burst against one URL on O(host), bounded in requests and time.
    type: dict
    suboptions:
      enabled:
        description: Send the burst.
        type: bool
        default: false
      url:
        description: URL to hit.
        type: str
      max_requests:
        description: Upper bound of requests (at most 500).
        type: int
        default: 50
      max_seconds:
        description: Upper bound of time (at most 30).
        type: float
        default: 5
  ca_file:
    description: CA bundle on the controller to verify chains with (default the system store).
    type: path
  ssh_port:
    description:
      - SSH port of O(host) to audit with ssh-audit (checklist SSH-03); omitted = no SSH probe.
      - Runs the controller's ssh-audit twice (a scan and a policy check, a few dozen connections); mind a
        per-source rate limit on the SSH port.
    type: int
  ssh_policy:
    description: The ssh-audit built-in policy the server must pass (C(ssh-audit -L) lists them).
    type: str
    default: Hardened Debian 12 (version 3)
  tls_ciphers:
    description: Enumerate TLS 1.2 cipher suites (one handshake each).
    type: bool
    default: true
  timeout:
    description: Per-connection timeout in seconds.
    type: float
    default: 3
attributes:
  check_mode:
    support: full
    description: Probes only read; they run in check mode too.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
notes:
  - Only run it against hosts you are responsible for. The rate-limit burst is off by default.
seealso:
  - module: rampart.hardening.security_audit
"""

EXAMPLES = r"""
- name: Probe the web host from the controller
  rampart.hardening.edge_probe:
    host: "{{ ansible_host | default(inventory_hostname) }}"
    tls_endpoints:
      - {port: 443, server_name: www.example.org}
    urls: [https://www.example.org/]
    redirect_names: [www.example.org]
  delegate_to: localhost
  register: edge

- name: Audit with the live results merged
  rampart.hardening.security_audit:
    live_results: "{{ edge.live_results }}"
  become: true
"""

RETURN = r"""
live_results:
  description: Results keyed by check id, each with status, message and evidence.
  returned: always
  type: dict
  sample:
    RDS-03:
      status: pass
      message: unauthenticated PING refused with NOAUTH
      evidence: ["10.89.0.4:6379 PING -> -NOAUTH Authentication required."]
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rampart.hardening.plugins.module_utils.live_probes import (
    ProbeTarget,
    TlsEndpoint,
    allowed_sources_by_port,
    run_edge_probe,
)
from ansible_collections.rampart.hardening.plugins.module_utils.live_ssh import ssh03_live
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sockets import DATA_PORTS
from ansible_collections.rampart.hardening.plugins.module_utils.ssh_policy import DEFAULT_POLICY

ARGUMENT_SPEC = {
    "host": {"type": "str", "required": True},
    "tls_endpoints": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "port": {"type": "int", "default": 443},
            "server_name": {"type": "str"},
            "expected_fingerprint": {"type": "str"},
        },
    },
    "urls": {"type": "list", "elements": "str", "default": []},
    "redirect_names": {"type": "list", "elements": "str", "default": []},
    "ports": {"type": "list", "elements": "int", "default": list(DATA_PORTS)},
    "allowed_services": {"type": "list", "elements": "dict", "default": []},
    "rate_limit": {
        "type": "dict",
        "options": {
            "enabled": {"type": "bool", "default": False},
            "url": {"type": "str"},
            "max_requests": {"type": "int", "default": 50},
            "max_seconds": {"type": "float", "default": 5},
        },
        "required_if": [("enabled", True, ("url",))],
    },
    "ca_file": {"type": "path"},
    "ssh_port": {"type": "int"},
    "ssh_policy": {"type": "str", "default": DEFAULT_POLICY},
    "tls_ciphers": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 3},
}


def probe(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The whole probe from validated parameters (also called in-process by the audit_host action)."""
    target = ProbeTarget(params["host"], timeout=params["timeout"])
    endpoints = [TlsEndpoint(e["port"], e["server_name"], e["expected_fingerprint"]) for e in params["tls_endpoints"]]
    results = run_edge_probe(
        target,
        tls_endpoints=endpoints,
        urls=params["urls"],
        redirect_names=params["redirect_names"],
        ports=params["ports"],
        allowed_sources=allowed_sources_by_port(params["allowed_services"], params["ports"]),
        rate_limit=params["rate_limit"],
        ca_file=params["ca_file"],
        tls_ciphers=params["tls_ciphers"],
    )
    if params.get("ssh_port"):
        policy = params.get("ssh_policy") or DEFAULT_POLICY
        ssh = ssh03_live(params["host"], params["ssh_port"], policy, params["timeout"])
        results["SSH-03"] = {"status": ssh.status.value, "message": ssh.message, "evidence": ssh.evidence}
    return results


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        results = probe(module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, live_results=results)


if __name__ == "__main__":
    main()
