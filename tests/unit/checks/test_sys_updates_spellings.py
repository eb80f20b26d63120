"""SYS-01 against APT::Periodic spellings, judged as /usr/lib/apt/apt.systemd.daily (run by dash) reads them.

- An interval is "always" or a number with an optional s/m/h/d unit (days without one). "0" (or no
  value: the script's default is 0) turns the job off; "0d"/"0h" is 0 seconds, so it runs every time.
- Any other word ("never", "true", "yes") reaches ``$((interval*86400))`` and dash aborts the script
  ("Illegal number") once the stamp file exists: the job ran at most once.
- unattended-upgrade installs what the package lists offer, and only Update-Package-Lists refreshes them.
- ``[ $AutoAptEnable -eq 0 ]``: "00" disables everything; "false" is a test error, i.e. still enabled.
- Unattended-Upgrade::Package-Blacklist entries are Python regular expressions applied with re.match
  (Debian's 50unattended-upgrades: "linux-" matches all packages starting with linux-): ".*" holds
  back every update.
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, fixture, lab_commands, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

APT_DUMP = ("apt-config", "dump")
DPKG_UU = fixture("packages/dpkg-lab.txt") + "unattended-upgrades\t2.9.1+nmu3\tii \n"
HARDENED_APT = fixture("apt/apt-config-hardened.txt")


def with_periodic(make_facts, **values: str | None):
    """The hardened dump with APT::Periodic::<key> replaced (None: the key removed)."""
    lines = [
        line
        for line in HARDENED_APT.splitlines()
        if not any(line.startswith(f"APT::Periodic::{key} ") for key in values)
    ]
    lines += [f'APT::Periodic::{key} "{value}";' for key, value in values.items() if value is not None]
    systemctl = systemctl_show(active=["apt-daily-upgrade.timer"])
    return make_facts(commands={**lab_commands(dpkg=DPKG_UU, systemctl=systemctl), APT_DUMP: "\n".join(lines) + "\n"})


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("Unattended-Upgrade", "never", "no interval"),
        ("Unattended-Upgrade", "true", "no interval"),
        ("Unattended-Upgrade", "1 day", "no interval"),
        ("Update-Package-Lists", "0", "never refreshed"),
        ("Update-Package-Lists", None, "never refreshed"),
        ("Update-Package-Lists", "yes", "never refreshed"),
        ("Enable", "00", "disables every periodic apt job"),
    ],
)
def test_periodic_spellings_that_never_run_fail(make_facts, key, value, needle):
    result = run("SYS-01", with_periodic(make_facts, **{key: value}))
    assert_status(result, Status.FAIL)
    assert any(needle in line for line in [result.message, *result.evidence]), result.evidence


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Unattended-Upgrade", "0d"),  # 0 seconds: every timer run
        ("Unattended-Upgrade", "0h"),
        ("Unattended-Upgrade", "1d"),
        ("Unattended-Upgrade", "12h"),
        ("Unattended-Upgrade", "always"),
        ("Unattended-Upgrade", "00"),  # not the string "0": 0 seconds
        ("Update-Package-Lists", "3600s"),
        ("Update-Package-Lists", "always"),
        ("Enable", "1"),
        ("Enable", "false"),  # [ false -eq 0 ] is a test error: the script goes on
    ],
)
def test_periodic_spellings_that_run_pass(make_facts, key, value):
    assert_status(run("SYS-01", with_periodic(make_facts, **{key: value})), Status.PASS)


def test_garbled_apt_config_dump_is_an_error(make_facts):
    facts = make_facts(commands={**lab_commands(dpkg=DPKG_UU), APT_DUMP: 'APT::Periodic::Unattended-Upgrade "1\n'})
    assert_status(run("SYS-01", facts), Status.ERROR)


# ----- Unattended-Upgrade::Package-Blacklist: Python regular expressions, applied with re.match -------
def with_blacklist(make_facts, *entries: str):
    block = 'Unattended-Upgrade::Package-Blacklist "";\n' + "".join(
        f'Unattended-Upgrade::Package-Blacklist:: "{entry}";\n' for entry in entries
    )
    systemctl = systemctl_show(active=["apt-daily-upgrade.timer"])
    return make_facts(commands={**lab_commands(dpkg=DPKG_UU, systemctl=systemctl), APT_DUMP: HARDENED_APT + block})


@pytest.mark.parametrize("entry", [".*", ".", "[a-z0-9]", r"\w*", "(lib)?"])
def test_blacklist_that_holds_back_every_package_fails(make_facts, entry):
    result = run("SYS-01", with_blacklist(make_facts, "linux-", entry))
    assert_status(result, Status.FAIL)
    assert any("holds back every package" in line for line in [result.message, *result.evidence])


def test_blacklist_entry_python_cannot_compile_is_not_a_crash(make_facts):
    assert_status(run("SYS-01", with_blacklist(make_facts, "(lib|xen")), Status.PASS)


@pytest.mark.parametrize("entries", [(), ("linux-", r"libc6-i686$", r"libstdc\+\+6$", "(lib)?xen(store)?")])
def test_ordinary_or_empty_blacklist_passes(make_facts, entries):
    """Debian's 50unattended-upgrades examples; an empty block prints only ``Package-Blacklist "";``."""
    assert_status(run("SYS-01", with_blacklist(make_facts, *entries)), Status.PASS)
