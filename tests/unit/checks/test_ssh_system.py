"""SSH-01..02 (real sshd -T outputs) and SYS-01..03."""

from __future__ import annotations

import pytest
from check_helpers import GARBAGE, assert_status, fixture, lab_commands, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

HARDENED_SSH = fixture("ssh/hardened.txt")
STOCK_SSH = fixture("ssh/stock-debian.txt")
AUTO = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'
UU_PACKAGE = "unattended-upgrades\t2.9.1+nmu3\tii \n"


@pytest.mark.parametrize("check_id", ["SSH-01", "SSH-02"])
def test_sshd(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands())), Status.PASS)
    assert_status(run(check_id, make_facts(commands=lab_commands(sshd=STOCK_SSH))), Status.FAIL)


@pytest.mark.parametrize("check_id", ["SSH-01", "SSH-02"])
@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (None, Status.NOT_APPLICABLE),
        (GARBAGE, Status.ERROR),
        (HARDENED_SSH[:200], Status.ERROR),
        ((255, "", "Missing privilege separation directory: /run/sshd"), Status.ERROR),
    ],
)
def test_sshd_missing_or_malformed(make_facts, check_id, output, expected):
    assert_status(run(check_id, make_facts(commands=lab_commands(sshd=output))), expected)


@pytest.mark.parametrize(
    ("old", "new", "check_id", "expected"),
    [
        ("permitrootlogin without-password", "permitrootlogin yes", "SSH-01", Status.FAIL),
        ("kbdinteractiveauthentication no", "kbdinteractiveauthentication yes", "SSH-01", Status.FAIL),
        ("maxauthtries 3", "maxauthtries 5", "SSH-02", Status.FAIL),
        ("allowtcpforwarding no", "allowtcpforwarding yes", "SSH-02", Status.FAIL),
        ("loglevel VERBOSE", "loglevel INFO", "SSH-02", Status.PARTIAL),
    ],
)
def test_sshd_settings(make_facts, old, new, check_id, expected):
    assert old in HARDENED_SSH
    assert_status(run(check_id, make_facts(commands=lab_commands(sshd=HARDENED_SSH.replace(old, new)))), expected)


def test_declared_tcp_forwarding_is_allowed(make_facts):
    sshd = HARDENED_SSH.replace("allowtcpforwarding no", "allowtcpforwarding yes")
    facts = make_facts(commands=lab_commands(sshd=sshd), intent={"ssh": {"allowed_forwarding": ["allowtcpforwarding"]}})
    assert_status(run("SSH-02", facts), Status.PASS)


def updates_facts(make_facts, package=True, auto=AUTO, timer_active=True, dpkg=None):
    """SYS-01 reads the merged configuration (`apt-config dump`); ``auto`` is appended to the hardened dump."""
    packages = dpkg if dpkg is not None else fixture("packages/dpkg-lab.txt") + (UU_PACKAGE if package else "")
    systemctl = systemctl_show(
        **({"active": ["apt-daily-upgrade.timer"]} if timer_active else {"inactive": ["apt-daily-upgrade.timer"]})
    )
    dump = fixture("apt/apt-config-hardened.txt") + (auto or "")
    commands = {**lab_commands(dpkg=packages, systemctl=systemctl), ("apt-config", "dump"): dump}
    return make_facts(commands=commands)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, Status.PASS),
        ({"package": False}, Status.FAIL),
        ({"auto": 'APT::Periodic::Unattended-Upgrade "0";\n'}, Status.FAIL),
        ({"timer_active": False}, Status.FAIL),
        ({"dpkg": GARBAGE}, Status.ERROR),
    ],
)
def test_automatic_updates(make_facts, kwargs, expected):
    assert_status(run("SYS-01", updates_facts(make_facts, **kwargs)), expected)


def test_non_debian_host_is_not_applicable(make_facts):
    assert_status(run("SYS-01", make_facts(commands=lab_commands(dpkg=None))), Status.NOT_APPLICABLE)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, None, Status.PASS),
        ("kernel.randomize_va_space = 2", "kernel.randomize_va_space = 0", Status.FAIL),
        ("fs.suid_dumpable = 0", "fs.suid_dumpable = 2", Status.FAIL),
        ("kernel.yama.ptrace_scope = 1\n", "", Status.PARTIAL),  # kernel without Yama
    ],
)
def test_kernel_sysctls(make_facts, old, new, expected):
    text = fixture("sysctl/hardened.txt")
    text = text.replace(old, new) if old else text
    assert_status(run("SYS-02", make_facts(commands=lab_commands(sysctl=text))), expected)


def test_unreadable_kernel_sysctls(make_facts):
    assert_status(run("SYS-02", make_facts(commands=lab_commands(sysctl=GARBAGE))), Status.ERROR)
    assert_status(run("SYS-02", make_facts(commands=lab_commands(sysctl=None))), Status.ERROR)


@pytest.mark.parametrize(
    ("systemctl", "expected"),
    [
        (systemctl_show(active=["chrony.service"]), Status.PASS),
        (systemctl_show(inactive=["systemd-timesyncd.service"]), Status.FAIL),
        (GARBAGE, Status.ERROR),
    ],
)
def test_time_sync(make_facts, systemctl, expected):
    assert_status(run("SYS-03", make_facts(commands=lab_commands(systemctl=systemctl))), expected)
