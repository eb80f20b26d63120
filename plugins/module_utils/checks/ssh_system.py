"""SSH and system pack (SSH-01..02, SYS-01..03): sshd -T, updates, kernel sysctls, time sync."""

from __future__ import annotations

import re

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import judge, unless_hidden
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, error, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sshd import first
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.apt import apt_config
from ansible_collections.rampart.hardening.plugins.module_utils.probes.apt import entries as apt_entries
from ansible_collections.rampart.hardening.plugins.module_utils.probes.apt import setting as apt_setting
from ansible_collections.rampart.hardening.plugins.module_utils.probes.container import host_owned
from ansible_collections.rampart.hardening.plugins.module_utils.probes.packages import installed, packages
from ansible_collections.rampart.hardening.plugins.module_utils.probes.ssh import sshd, sshd_match_overrides
from ansible_collections.rampart.hardening.plugins.module_utils.probes.sysctl import value
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import active, unit, units
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check
from ansible_collections.rampart.hardening.plugins.module_utils.ssh_policy import (
    GEX,
    MIN_MODULUS_BITS,
    MIN_RSA_BITS,
    algorithm_problems,
    rsa_bits,
    small_moduli,
    weakening,
)

CIS = "CIS Debian Linux 12 Benchmark"
SSHD_MAN = "https://man.openbsd.org/sshd_config"
SAFE_ROOT_LOGIN = ("no", "prohibit-password", "without-password")
MAX_AUTH_TRIES = 4
AUTO_UPGRADES = "/etc/apt/apt.conf.d/20auto-upgrades"
# An origin pattern or allowed origin naming a security archive (Debian, Ubuntu, any label/codename spelling).
SECURITY_ORIGIN = re.compile(r"(?i)(-security\b|security\.debian\.org|label=[^,]*security)")
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
    problems += weakening(sshd_match_overrides(facts), wanted)
    if first(config, "authenticationmethods", "any") == "publickey" and problems:
        seen.append("authenticationmethods publickey (globally: a key is required whatever else is on)")
    return judge("key-only SSH, root without password (Match blocks included)", problems, seen=seen)


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
    overrides = sshd_match_overrides(facts)
    # DisableForwarding yes turns every kind off whatever the single keywords say.
    disabled = first(config, "disableforwarding", "no") == "yes"
    for key in ("x11forwarding", "allowagentforwarding", "allowtcpforwarding"):
        current = first(config, key, "yes")
        if current != "no" and key not in declared and not disabled:
            problems.append(f"{key} {current}")
    forwarding = {
        k: ("no",) for k in ("x11forwarding", "allowagentforwarding", "allowtcpforwarding") if k not in declared
    }
    problems += weakening(overrides, {**forwarding, "disableforwarding": ("yes",) if disabled else ("yes", "no")})
    problems += [
        o.evidence()
        for o in overrides
        if o.key == "maxauthtries" and (not o.value.isdigit() or int(o.value) > MAX_AUTH_TRIES)
    ]
    if first(config, "loglevel").upper() != "VERBOSE":
        minor.append(f"loglevel {first(config, 'loglevel')} (VERBOSE logs key fingerprints)")
    keys = (
        "maxauthtries",
        "disableforwarding",
        "x11forwarding",
        "allowagentforwarding",
        "allowtcpforwarding",
        "loglevel",
    )
    seen = [f"{k} {first(config, k)}" for k in keys if k in config]
    return judge("sshd limits and forwarding hardened (Match blocks included)", problems, minor, seen)


def _host_key_problems(facts: Facts, config: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    problems, seen = [], []
    for path in config.get("hostkey", []):
        public = facts.read_text(f"{path}.pub")
        bits = rsa_bits(public or "")
        if bits is not None:
            seen.append(f"{path}: RSA {bits} bits")
            if bits < MIN_RSA_BITS:
                problems.append(f"host key {path} is RSA {bits} bits (< {MIN_RSA_BITS})")
        elif public is not None:
            seen.append(f"{path}: {public.split()[0] if public.split() else '?'}")
    return problems, seen


@check(
    id="SSH-03",
    title="Key exchange, ciphers, MACs and host keys as in the ssh-audit hardening guide",
    category="ssh_system",
    severity="high",
    rationale="Weak key exchanges (NIST curves, SHA-1, small DH groups), CBC ciphers and MAC-then-encrypt "
    "modes are what downgrade and Terrapin-style attacks use; RSA under 3072 bits and small group-exchange "
    "moduli fall short of 128-bit security.",
    remediation="Apply the ssh role (tag ssh_config): the ssh-audit guide's KexAlgorithms/Ciphers/MACs/"
    "HostKeyAlgorithms in /etc/ssh/sshd_config.d/00-rampart.conf, Ed25519 + RSA 4096 host keys, moduli "
    ">= 3072 bits; check from outside with 'ssh-audit -P \"Hardened Debian 12 (version 3)\" <host>'.",
    references=("https://www.ssh-audit.com/hardening_guides.html", SSHD_MAN, f"{CIS} 5.1.x"),
)
def ssh_algorithms(facts: Facts) -> Result:
    """Inspects: `sshd -T`: kexalgorithms, ciphers, macs, hostkeyalgorithms, hostkey (+ the .pub key sizes);
    /etc/ssh/moduli. Live (edge_probe ssh_port): ssh-audit's scan and policy verdict from the controller.

    pass: every algorithm in the guide, RSA >= 3072, no small moduli; partial: post-quantum KEX offered but
    not first; fail otherwise; n/a: no sshd.
    """
    config, skip = _sshd_or_na(facts)
    if skip:
        return skip
    problems, minor, seen = algorithm_problems(config)
    key_problems, key_seen = _host_key_problems(facts, config)
    problems += key_problems
    seen += key_seen
    kex = ",".join(config.get("kexalgorithms", [])).split(",")
    if GEX in kex:
        moduli = facts.read_text("/etc/ssh/moduli")
        if moduli is None:
            problems.append(f"{GEX} enabled but /etc/ssh/moduli is missing")
        elif small_moduli(moduli):
            problems.append(f"/etc/ssh/moduli has {small_moduli(moduli)} group(s) under {MIN_MODULUS_BITS} bits")
    return judge("sshd algorithms and host keys as in the ssh-audit hardening guide", problems, minor, seen)


# What /usr/lib/apt/apt.systemd.daily (run by /bin/sh = dash) accepts as an APT::Periodic interval:
# "always", or a number with an optional s/m/h/d unit (days without one). "0" turns the job off; "0d"
# or "0h" is an interval of 0 seconds, so the job runs on every timer run. Anything else ("never",
# "true", "yes", "1 day") reaches $((interval*86400)) and dash aborts the script ("Illegal number")
# once a stamp file exists: the job ran at most once.
PERIODIC_INTERVAL = re.compile(r"always|\d+[smhd]?")
# apt.systemd.daily: [ $AutoAptEnable -eq 0 ] disables everything; a non-number is a test error, i.e. enabled.
PERIODIC_DISABLED = re.compile(r"\s*[+-]?0+\s*")
# Both jobs are needed: unattended-upgrade installs from the package lists, which only the
# Update-Package-Lists step of the same script refreshes (default 0: never).
PERIODIC_JOBS = (
    ("APT::Periodic::Unattended-Upgrade", "unattended-upgrade never runs"),
    ("APT::Periodic::Update-Package-Lists", "package lists are never refreshed, so no new security update is seen"),
)


def _interval_problem(key: str, consequence: str, value: str | None) -> str | None:
    """Why the APT::Periodic interval ``value`` of ``key`` never runs its job, or None when it runs."""
    if value is None or value in {"", "0"}:  # unset: apt.systemd.daily's default is 0
        return f'{key} "{value or ""}": {consequence}'
    if not PERIODIC_INTERVAL.fullmatch(value):
        return f'{key} "{value}" is no interval apt.systemd.daily accepts (days, or s/m/h/d): {consequence}'
    return None


def _periodic_problems(config: dict[str, list[str]]) -> list[str]:
    """APT::Periodic must refresh the lists and run unattended-upgrade, as apt.systemd.daily reads it."""
    problems = []
    enable = apt_setting(config, "APT::Periodic::Enable")
    if enable is not None and PERIODIC_DISABLED.fullmatch(enable):
        problems.append(f'APT::Periodic::Enable "{enable}" disables every periodic apt job')
    for key, consequence in PERIODIC_JOBS:
        problem = _interval_problem(key, consequence, apt_setting(config, key))
        if problem:
            problems.append(problem)
    return problems


# Unattended-Upgrade::Package-Blacklist holds Python regular expressions that unattended-upgrade
# applies with re.match (a prefix match: "linux-" holds back every linux-* package). An entry that
# matches all of these unrelated names (".*", "[a-z0-9]") holds back every update.
SAMPLE_PACKAGES = ("openssl", "libc6", "openssh-server", "sudo", "zlib1g", "bash", "0ad", "g++", "python3")


def _blacklist_problems(config: dict[str, list[str]]) -> list[str]:
    """Package-Blacklist entries that hold back every package.

    An entry Python cannot compile is left alone here: what unattended-upgrade then does is not judged.
    """
    problems = []
    # apt-config dump prints the list node itself as `Package-Blacklist "";`: no entry.
    for entry in filter(None, apt_entries(config, "Unattended-Upgrade::Package-Blacklist")):
        try:
            pattern = re.compile(entry)
        except re.error:
            continue
        if all(pattern.match(name) for name in SAMPLE_PACKAGES):
            problems.append(f'Unattended-Upgrade::Package-Blacklist "{entry}" holds back every package')
    return problems


def _security_origins(config: dict[str, list[str]]) -> list[str]:
    """Origins-Pattern / Allowed-Origins entries that select a security archive."""
    patterns = apt_entries(config, "Unattended-Upgrade::Origins-Pattern")
    allowed = apt_entries(config, "Unattended-Upgrade::Allowed-Origins")
    return [o for o in [*patterns, *allowed] if SECURITY_ORIGIN.search(o)]


def _upgrade_timer_problems(facts: Facts) -> tuple[list[str], list[str]]:
    if not units(facts):
        return [], ["no systemd: apt timers not assessed"]
    timer = unit(facts, "apt-daily-upgrade.timer")
    if timer is None:
        return ["apt-daily-upgrade.timer does not exist: nothing triggers unattended-upgrade"], []
    if not timer.active or timer.unit_file_state not in ("enabled", "static", "enabled-runtime", "alias"):
        return [f"apt-daily-upgrade.timer not active and enabled ({timer.evidence()})"], []
    return [], [timer.evidence()]


@check(
    id="SYS-01",
    title="Automatic security updates enabled",
    category="ssh_system",
    severity="high",
    rationale="Most compromises use vulnerabilities that already have a fix; unattended security updates "
    "close the window without waiting for a person.",
    remediation='apt install unattended-upgrades; write APT::Periodic::Update-Package-Lists "1"; and '
    'APT::Periodic::Unattended-Upgrade "1"; to /etc/apt/apt.conf.d/20auto-upgrades; keep a security origin '
    '(e.g. "origin=Debian,codename=${distro_codename}-security,label=Debian-Security") in '
    "Unattended-Upgrade::Origins-Pattern; enable apt-daily-upgrade.timer; check with 'unattended-upgrade --dry-run'.",
    references=(f"{CIS} 1.2.x", "https://wiki.debian.org/UnattendedUpgrades"),
    fix_role="baseline",
    fix_tag="baseline_updates",
)
def sys_updates(facts: Facts) -> Result:
    """Inspects: dpkg: unattended-upgrades; `apt-config dump` (the merged apt configuration, any file or
    spelling): APT::Periodic::Enable/Unattended-Upgrade/Update-Package-Lists (read as apt.systemd.daily does:
    "0" or unset is off, "0d" runs every time, a word stops the script),
    Unattended-Upgrade::Origins-Pattern/Allowed-Origins and Package-Blacklist (regular expressions, prefix match);
    apt-daily-upgrade.timer.

    pass: installed, lists refreshed and unattended-upgrade run periodically, a security origin selected, timer
    active and enabled; fail otherwise;
    n/a: not dpkg-based. Pending updates are not simulated (too slow).
    """
    if packages(facts) is None:
        return not_applicable("not a dpkg-based host")
    config = apt_config(facts)
    if config is None:
        return error("apt-config is missing: the effective apt configuration cannot be read")
    problems, seen = [], []
    if not installed(facts, "unattended-upgrades"):
        problems.append("unattended-upgrades is not installed")
    problems += _periodic_problems(config)
    problems += _blacklist_problems(config)
    seen += [f'{key} "{apt_setting(config, key)}"' for key, _consequence in PERIODIC_JOBS]
    origins = _security_origins(config)
    if origins:
        seen += [f"security origin: {o}" for o in origins]
    else:
        problems.append("no security origin in Unattended-Upgrade::Origins-Pattern or Allowed-Origins")
    timer_problems, timer_seen = _upgrade_timer_problems(facts)
    problems += timer_problems
    seen += timer_seen
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
    remediation="Set them in /etc/sysctl.d/60-rampart-kernel.conf and run 'sysctl --system'. Inside a container "
    "they belong to the container host.",
    references=(f"{CIS} 1.5.x", "https://www.kernel.org/doc/html/latest/admin-guide/sysctl/"),
    fix_role="baseline",
    fix_tag="baseline_sysctl",
)
def sys_kernel(facts: Facts) -> Result:
    """Inspects: kernel.randomize_va_space, fs.protected_symlinks/hardlinks, kernel.yama.ptrace_scope,
    fs.suid_dumpable.

    pass: all hardened; partial: a key missing on this kernel; fail: a wrong value; n/a: inside a container
    (kernel-wide settings belong to the container host).
    """
    skip = host_owned(facts, "kernel-wide sysctls")
    if skip:
        return skip
    problems, minor, seen, unread = [], [], [], []
    for key, allowed in KERNEL_SYSCTLS:
        try:
            current = value(facts, key)
        except ProbeError as exc:  # this key's line was unreadable: judge the others, doubt the verdict
            unread.append(str(exc))
            continue
        if current is None:
            minor.append(f"{key} not available on this kernel")
            continue
        seen.append(f"{key} = {current}")
        if current not in allowed:
            problems.append(f"{key} = {current} (expected {'/'.join(allowed)})")
    if not seen:
        return error("no kernel sysctl is readable", unread)
    return unless_hidden(judge("kernel hardening sysctls set", problems, minor, seen), unread)


@check(
    id="SYS-03",
    title="Time synchronisation active",
    category="ssh_system",
    severity="low",
    rationale="Certificates, TOTP, log correlation and Kerberos all depend on a correct clock.",
    remediation="apt install systemd-timesyncd (or chrony) and 'systemctl enable --now systemd-timesyncd'.",
    references=(f"{CIS} 2.3.x",),
    fix_role="baseline",
    fix_tag="baseline_time",
)
def sys_time_sync(facts: Facts) -> Result:
    """Inspects: chrony, systemd-timesyncd, ntpsec, ntp, openntpd units.

    pass: one active; fail otherwise; n/a: inside a container (the clock is the container host's kernel clock).
    """
    skip = host_owned(facts, "the system clock")
    if skip:
        return skip
    running = [u for u in TIME_UNITS if active(facts, u)]
    if running:
        return judge("time sync active", [], seen=running)
    installed_units = [unit(facts, u).evidence() for u in TIME_UNITS if unit(facts, u) is not None]
    return judge("", ["no time synchronisation service is active"], seen=installed_units)
