"""SSH and system pack (SSH-01..02, SYS-01..03): sshd -T, updates, kernel sysctls, time sync."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import judge
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, error, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sshd import first
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.packages import installed, packages
from ansible_collections.rampart.hardening.plugins.module_utils.probes.ssh import sshd
from ansible_collections.rampart.hardening.plugins.module_utils.probes.sysctl import value
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import active, unit
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

CIS = "CIS Debian Linux 12 Benchmark"
SSHD_MAN = "https://man.openbsd.org/sshd_config"
SAFE_ROOT_LOGIN = ("no", "prohibit-password", "without-password")
MAX_AUTH_TRIES = 4
AUTO_UPGRADES = "/etc/apt/apt.conf.d/20auto-upgrades"
TIME_UNITS = ("chrony.service", "systemd-timesyncd.service", "ntpsec.service", "ntp.service", "openntpd.service")
KERNEL_SYSCTLS = (
    ("kernel.randomize_va_space", ("2",)),
    ("fs.protected_symlinks", ("1",)),
    ("fs.protected_hardlinks", ("1",)),
    ("kernel.yama.ptrace_scope", ("1", "2", "3")),
    ("fs.suid_dumpable", ("0",)),
)


def _sshd_or_na(facts: Facts) -> tuple[dict[str, list[str]] | None, Result | None]:
    config = sshd(facts)
    if config is None:
        return None, not_applicable("OpenSSH server is not installed")
    return config, None


@check(
    id="SSH-01",
    title="Root login no/prohibit-password; password and keyboard-interactive auth off",
    category="ssh_system",
    severity="high",
    rationale="Password logins are brute-forced continuously; root with a password is the prime target.",
    remediation="In /etc/ssh/sshd_config.d/10-rampart.conf: PermitRootLogin prohibit-password, "
    "PasswordAuthentication no, KbdInteractiveAuthentication no; 'sshd -t && systemctl reload ssh'.",
    references=(f"{CIS} 5.1.x", SSHD_MAN),
)
def ssh_authentication(facts: Facts) -> Result:
    """Inspects: `sshd -T`: permitrootlogin, passwordauthentication, kbdinteractiveauthentication,
    challengeresponseauthentication.

    pass: root no/prohibit-password and password/keyboard-interactive off; fail otherwise; n/a: no sshd.
    """
    config, skip = _sshd_or_na(facts)
    if skip:
        return skip
    wanted = {
        "permitrootlogin": SAFE_ROOT_LOGIN,
        "passwordauthentication": ("no",),
        "kbdinteractiveauthentication": ("no",),
        "challengeresponseauthentication": ("no",),
    }
    problems, seen = [], []
    for key, allowed in wanted.items():
        if key not in config:
            continue  # challengeresponse is an alias removed in newer OpenSSH
        current = first(config, key)
        seen.append(f"{key} {current}")
        if current not in allowed:
            problems.append(f"sshd: {key} {current}")
    return judge("key-only SSH, root without password", problems, seen=seen)


@check(
    id="SSH-02",
    title="MaxAuthTries ≤ 4; X11/agent/TCP forwarding off unless declared; LogLevel VERBOSE",
    category="ssh_system",
    severity="medium",
    rationale="Few tries per connection slow guessing; forwarding turns the host into a pivot; VERBOSE logs "
    "record the key fingerprint of each login.",
    remediation="MaxAuthTries 3; X11Forwarding no; AllowAgentForwarding no; AllowTcpForwarding no; LogLevel VERBOSE.",
    references=(f"{CIS} 5.1.x", SSHD_MAN),
)
def ssh_limits(facts: Facts) -> Result:
    """Inspects: `sshd -T`: maxauthtries, x11/agent/tcp forwarding (ssh intent allowed_forwarding), loglevel.

    pass: all hardened; partial: only loglevel; fail otherwise.
    """
    config, skip = _sshd_or_na(facts)
    if skip:
        return skip
    declared = {str(k).lower() for k in intent(facts, "ssh").get("allowed_forwarding") or []}
    problems, minor = [], []
    tries = first(config, "maxauthtries", "6")
    if not tries.isdigit() or int(tries) > MAX_AUTH_TRIES:
        problems.append(f"maxauthtries {tries}")
    for key in ("x11forwarding", "allowagentforwarding", "allowtcpforwarding"):
        current = first(config, key, "yes")
        if current != "no" and key not in declared:
            problems.append(f"{key} {current}")
    if first(config, "loglevel").upper() != "VERBOSE":
        minor.append(f"loglevel {first(config, 'loglevel')} (VERBOSE logs key fingerprints)")
    keys = ("maxauthtries", "x11forwarding", "allowagentforwarding", "allowtcpforwarding", "loglevel")
    return judge("sshd limits and forwarding hardened", problems, minor, [f"{k} {first(config, k)}" for k in keys])


def _auto_upgrades_enabled(text: str) -> bool:
    normalized = " ".join(text.split())
    return 'APT::Periodic::Unattended-Upgrade "1"' in normalized


@check(
    id="SYS-01",
    title="Automatic security updates enabled",
    category="ssh_system",
    severity="high",
    rationale="Most compromises use vulnerabilities that already have a fix; unattended security updates "
    "close the window without waiting for a person.",
    remediation='apt install unattended-upgrades; write APT::Periodic::Update-Package-Lists "1"; and '
    'APT::Periodic::Unattended-Upgrade "1"; to /etc/apt/apt.conf.d/20auto-upgrades; enable '
    "apt-daily-upgrade.timer.",
    references=(f"{CIS} 1.2.x", "https://wiki.debian.org/UnattendedUpgrades"),
)
def sys_updates(facts: Facts) -> Result:
    """Inspects: dpkg: unattended-upgrades; /etc/apt/apt.conf.d/20auto-upgrades; apt-daily-upgrade.timer.

    pass: installed, enabled and timer active; fail otherwise; n/a: not dpkg-based. Pending updates are not
    simulated (too slow).
    """
    if packages(facts) is None:
        return not_applicable("not a dpkg-based host")
    problems, seen = [], []
    if not installed(facts, "unattended-upgrades"):
        problems.append("unattended-upgrades is not installed")
    text = facts.read_text(AUTO_UPGRADES)
    if text is None or not _auto_upgrades_enabled(text):
        problems.append(f"{AUTO_UPGRADES} does not enable Unattended-Upgrade")
    timer = unit(facts, "apt-daily-upgrade.timer")
    if timer is not None and not timer.active:
        problems.append(f"apt-daily-upgrade.timer inactive ({timer.evidence()})")
    elif timer is not None:
        seen.append(timer.evidence())
    # Pending-update detection needs 'apt-get -s upgrade' (~2 s): left to the live/agent audit.
    seen.append("pending security updates not assessed here (apt simulation too slow for the audit budget)")
    return judge("unattended security upgrades are enabled", problems, seen=seen)


@check(
    id="SYS-02",
    title="Kernel sysctls: ASLR 2, protected symlinks/hardlinks, ptrace scope ≥ 1, suid_dumpable 0",
    category="ssh_system",
    severity="medium",
    rationale="These kernel defaults blunt memory-corruption exploits, /tmp races and credential theft "
    "via ptrace or core dumps.",
    remediation="Set them in /etc/sysctl.d/60-rampart.conf and run 'sysctl --system'.",
    references=(f"{CIS} 1.5.x", "https://www.kernel.org/doc/html/latest/admin-guide/sysctl/"),
)
def sys_kernel(facts: Facts) -> Result:
    """Inspects: kernel.randomize_va_space, fs.protected_symlinks/hardlinks, kernel.yama.ptrace_scope,
    fs.suid_dumpable.

    pass: all hardened; partial: a key missing on this kernel; fail: a wrong value.
    """
    problems, minor, seen = [], [], []
    for key, allowed in KERNEL_SYSCTLS:
        current = value(facts, key)
        if current is None:
            minor.append(f"{key} not available on this kernel")
            continue
        seen.append(f"{key} = {current}")
        if current not in allowed:
            problems.append(f"{key} = {current} (expected {'/'.join(allowed)})")
    if not seen:
        return error("no kernel sysctl is readable")
    return judge("kernel hardening sysctls set", problems, minor, seen)


@check(
    id="SYS-03",
    title="Time synchronisation active",
    category="ssh_system",
    severity="low",
    rationale="Certificates, TOTP, log correlation and Kerberos all depend on a correct clock.",
    remediation="apt install systemd-timesyncd (or chrony) and 'systemctl enable --now systemd-timesyncd'.",
    references=(f"{CIS} 2.3.x",),
)
def sys_time_sync(facts: Facts) -> Result:
    """Inspects: chrony, systemd-timesyncd, ntpsec, ntp, openntpd units.

    pass: one active; fail otherwise.
    """
    running = [u for u in TIME_UNITS if active(facts, u)]
    if running:
        return judge("time sync active", [], seen=running)
    installed_units = [unit(facts, u).evidence() for u in TIME_UNITS if unit(facts, u) is not None]
    return judge("", ["no time synchronisation service is active"], seen=installed_units)
