"""systemd units (one ``systemctl show`` for every unit the checks ask about) and processes."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.system import (
    Process,
    Unit,
    parse_ps_lenient,
    parse_systemctl_show_lenient,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import lenient, run_checked

# Every unit any check looks at: asked in one call so the audit stays fast.
UNITS = (
    "nginx.service",
    "postgresql.service",
    "redis-server.service",
    "certbot.timer",
    "certbot.service",
    "fail2ban.service",
    "chrony.service",
    "systemd-timesyncd.service",
    "ntpsec.service",
    "ntp.service",
    "openntpd.service",
    "auditd.service",
    "unattended-upgrades.service",
    "apt-daily-upgrade.timer",
    "rsyslog.service",
    "syslog-ng.service",
    "systemd-journal-upload.service",
    "vector.service",
    "fluent-bit.service",
    "promtail.service",
    "filebeat.service",
    "alloy.service",
    "docker.service",
    "rabbitmq-server.service",
    "clickhouse-server.service",
    "mariadb.service",
    "mysql.service",
    "ssh.service",
    "nftables.service",
    "ufw.service",
)
PROPERTIES = "Id,LoadState,ActiveState,SubState,UnitFileState,Result,ExecMainStatus,User"


def units(facts: Facts) -> dict[str, Unit]:
    """{unit id: Unit} for UNITS ({} on a host without systemd); blocks that cannot be read are
    kept in ``facts.unparsed("systemd-units")`` (named by their Id when they have one)."""

    def probe() -> dict[str, Unit]:
        out = run_checked(facts, ("systemctl", "show", "-p", PROPERTIES, *UNITS))
        if out is None:
            return {}
        return lenient(facts, "systemd-units", parse_systemctl_show_lenient, out.stdout, "systemctl show output")

    return facts.cached("systemd-units", probe)


def unit(facts: Facts, name: str) -> Unit | None:
    """A unit that exists on the host, or None; ProbeError when its block (or a block with no
    readable Id, which could be it) was skipped as unreadable."""
    found = units(facts).get(name)
    if found is None:
        doubt = [block for block in facts.unparsed("systemd-units") if block.key in (name, None)]
        if doubt:
            raise ProbeError(f"cannot tell the state of {name}: {doubt[0]}")
    return found if found is not None and found.exists else None


def active(facts: Facts, name: str) -> bool:
    found = unit(facts, name)
    return found is not None and found.active


def processes(facts: Facts) -> list[Process]:
    """Every process with its uid and full command line (one ``ps``); lines that cannot be read
    are kept in ``facts.unparsed("ps")``."""

    def probe() -> list[Process]:
        out = run_checked(facts, ("ps", "-e", "-o", "uid=", "-o", "pid=", "-o", "args="))
        return [] if out is None else lenient(facts, "ps", parse_ps_lenient, out.stdout, "ps output")

    return facts.cached("ps", probe)
