"""Built-in check packs. Every pack is imported here statically so AnsiballZ bundles it."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.checks import (  # noqa: F401
    authentication,
    backups,
    certificates,
    http_headers,
    logging,
    network,
    other_data_services,
    postgresql,
    rate_limiting,
    redis,
    secrets,
    ssh_system,
    tls,
)
