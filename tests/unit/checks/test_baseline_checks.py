"""Checks the baseline role fixes: SYS-01 (effective apt config), container-aware SYS-02/03 and NET-07,
LOG-03 (real shipping config), and the container probe itself."""

from __future__ import annotations

import pytest
from check_helpers import GARBAGE, assert_status, fixture, lab_commands, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.probes.apt import parse_apt_config
from ansible_collections.rampart.hardening.plugins.module_utils.probes.container import HOST_OWNS, container

APT_DUMP = ("apt-config", "dump")
DETECT = ("systemd-detect-virt", "--container")
HARDENED_APT = fixture("apt/apt-config-hardened.txt")
STOCK_APT = fixture("apt/apt-config-stock.txt")
UU_PACKAGE = "unattended-upgrades\t2.9.1+nmu3\tii \n"
DPKG_UU = fixture("packages/dpkg-lab.txt") + UU_PACKAGE
TIMER = "apt-daily-upgrade.timer"


def updates(make_facts, apt=HARDENED_APT, dpkg=DPKG_UU, timer="active"):
    systemctl = systemctl_show(**({timer: [TIMER]} if timer else {}))
    return make_facts(commands={**lab_commands(dpkg=dpkg, systemctl=systemctl), APT_DUMP: apt})


# ----- SYS-01 ---------------------------------------------------------------------------------
def test_role_output_passes(make_facts):
    result = run("SYS-01", updates(make_facts))
    assert_status(result, Status.PASS)
    assert any("Debian-Security" in line for line in result.evidence)


@pytest.mark.parametrize(
    ("apt", "dpkg", "timer", "needle"),
    [
        # A stock Debian 12 host: no unattended-upgrades, nothing periodic, no origin.
        (STOCK_APT, fixture("packages/dpkg-lab.txt"), None, "not installed"),
        # Periodic switched off in any file, any later spelling: apt's merged value counts.
        (HARDENED_APT + 'APT::Periodic::Unattended-Upgrade "0";\n', DPKG_UU, "active", "never runs"),
        (HARDENED_APT + 'APT::Periodic::Enable "0";\n', DPKG_UU, "active", "Enable"),
        # Installed and periodic, but the origin list holds only the main archive: no security updates.
        (
            "\n".join(
                line for line in HARDENED_APT.splitlines() if "Origins-Pattern" not in line and "Allowed" not in line
            )
            + '\nUnattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},label=Debian";\n',
            DPKG_UU,
            "active",
            "no security origin",
        ),
        (HARDENED_APT, DPKG_UU, "inactive", TIMER),
        (HARDENED_APT, DPKG_UU, None, "does not exist"),
    ],
)
def test_updates_fail(make_facts, apt, dpkg, timer, needle):
    result = run("SYS-01", updates(make_facts, apt=apt, dpkg=dpkg, timer=timer))
    assert_status(result, Status.FAIL)
    assert any(needle in line for line in [result.message, *result.evidence]), result.evidence


def test_legacy_allowed_origins_spelling_counts(make_facts):
    apt = "\n".join(line for line in HARDENED_APT.splitlines() if "Origins-Pattern" not in line)
    apt += '\nUnattended-Upgrade::Allowed-Origins:: "${distro_id}:${distro_codename}-security";\n'
    assert_status(run("SYS-01", updates(make_facts, apt=apt)), Status.PASS)


@pytest.mark.parametrize(
    ("apt", "expected"),
    [(GARBAGE, Status.ERROR), ((100, "", "E: Syntax error /etc/apt/apt.conf.d/99x:3"), Status.ERROR)],
)
def test_updates_malformed(make_facts, apt, expected):
    assert_status(run("SYS-01", updates(make_facts, apt=apt)), expected)


def test_updates_without_apt_config_is_an_error_not_a_pass(make_facts):
    facts = make_facts(commands=lab_commands(dpkg=DPKG_UU, systemctl=systemctl_show(active=[TIMER])))
    assert_status(run("SYS-01", facts), Status.ERROR)


def test_apt_config_parser_collects_lists():
    parsed = parse_apt_config(HARDENED_APT)
    assert any("Debian-Security" in v for v in parsed["Unattended-Upgrade::Origins-Pattern"])
    with pytest.raises(Exception, match="apt-config line"):
        parse_apt_config('APT::X "unterminated;\n')


# ----- container detection ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("commands", "files", "expected"),
    [
        ({DETECT: "podman\n"}, {}, "podman"),
        ({DETECT: (1, "none\n", "")}, {"/.dockerenv": ""}, None),  # systemd's answer wins over stale markers
        ({}, {"/run/systemd/container": "lxc\n"}, "lxc"),
        ({}, {"/run/.containerenv": ""}, "podman"),
        ({}, {"/proc/1/environ": "PATH=/bin\0container=docker\0"}, "docker"),
        ({}, {}, None),
    ],
)
def test_container_probe(make_facts, commands, files, expected):
    assert container(make_facts(commands=commands, files=files)) == expected


# ----- SYS-02 / SYS-03 inside a container -----------------------------------------------------------
@pytest.mark.parametrize("check_id", ["SYS-02", "SYS-03"])
def test_kernel_level_checks_are_not_applicable_in_a_container(make_facts, check_id):
    # Even with values that would fail on a VM: the container cannot change them.
    sysctl = fixture("sysctl/hardened.txt").replace("kernel.randomize_va_space = 2", "kernel.randomize_va_space = 0")
    commands = {**lab_commands(sysctl=sysctl, systemctl=systemctl_show()), DETECT: "podman\n"}
    result = run(check_id, make_facts(commands=commands))
    assert_status(result, Status.NOT_APPLICABLE)
    assert HOST_OWNS in result.evidence
    assert "systemd-detect-virt -c: podman" in result.evidence


@pytest.mark.parametrize("check_id", ["SYS-02", "SYS-03"])
def test_kernel_level_checks_still_judged_outside_a_container(make_facts, check_id):
    sysctl = fixture("sysctl/hardened.txt").replace("kernel.randomize_va_space = 2", "kernel.randomize_va_space = 0")
    commands = {**lab_commands(sysctl=sysctl, systemctl=systemctl_show()), DETECT: (1, "none\n", "")}
    assert_status(run(check_id, make_facts(commands=commands)), Status.FAIL)


# ----- NET-07: namespaced, so judged inside a container too -------------------------------------------
def test_network_sysctls_are_judged_inside_a_container(make_facts):
    sysctl = fixture("sysctl/hardened.txt").replace(
        "net.ipv4.conf.all.accept_redirects = 0", "net.ipv4.conf.all.accept_redirects = 1"
    )
    facts = make_facts(commands={**lab_commands(sysctl=sysctl), DETECT: "podman\n"})
    assert_status(run("NET-07", facts), Status.FAIL)
    good = make_facts(commands={**lab_commands(), DETECT: "podman\n"})
    assert_status(run("NET-07", good), Status.PASS)


def test_forwarding_declared_by_the_baseline_intent(make_facts):
    sysctl = fixture("sysctl/hardened.txt").replace("net.ipv4.ip_forward = 0", "net.ipv4.ip_forward = 1")
    assert_status(run("NET-07", make_facts(commands=lab_commands(sysctl=sysctl))), Status.FAIL)
    declared = make_facts(commands=lab_commands(sysctl=sysctl), intent={"baseline": {"forwarding": True}})
    assert_status(run("NET-07", declared), Status.PASS)


# ----- LOG-03 ----------------------------------------------------------------------------------------
UPLOAD = "systemd-journal-upload.service"
ROLE_UPLOAD_CONF = (
    "[Upload]\nURL=https://logs.example.test:19532\nServerKeyFile=/etc/rampart/journal-upload/client.key\n"
    "ServerCertificateFile=/etc/rampart/journal-upload/client.pem\n"
    "TrustedCertificateFile=/etc/rampart/journal-upload/ca.pem\n"
)
DROPIN = "/etc/systemd/journal-upload.conf.d/60-rampart.conf"
TLS_RSYSLOG = (
    'global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="/etc/ssl/ca.pem")\n'
    'action(type="omfwd" target="logs.example.test" port="6514" protocol="tcp" StreamDriver="gtls" '
    'StreamDriverMode="1" StreamDriverAuthMode="x509/name")\n'
)
LEGACY_TLS_RSYSLOG = (
    "$DefaultNetstreamDriver gtls\n$ActionSendStreamDriverMode 1\n$ActionSendStreamDriverAuthMode x509/name\n"
    "*.* @@logs.example.test:6514\n"
)


@pytest.mark.parametrize(
    ("units", "files", "expected"),
    [
        ([UPLOAD], {DROPIN: ROLE_UPLOAD_CONF}, Status.PASS),
        # The URL in the main file, a later drop-in downgrading to plain HTTP: the drop-in wins.
        (
            [UPLOAD],
            {
                "/etc/systemd/journal-upload.conf": ROLE_UPLOAD_CONF,
                "/etc/systemd/journal-upload.conf.d/99-local.conf": "[Upload]\nURL=http://logs.example.test:19532\n",
            },
            Status.PARTIAL,
        ),
        (
            [UPLOAD],
            {DROPIN: ROLE_UPLOAD_CONF.replace("ca.pem", "").replace("=/etc/rampart/journal-upload/\n", "=all\n")},
            Status.PARTIAL,
        ),
        ([UPLOAD], {}, Status.PARTIAL),  # active but no URL in any config file
        # Installed and configured but not running ships nothing.
        ([], {DROPIN: ROLE_UPLOAD_CONF}, Status.FAIL),
        (["rsyslog.service"], {"/etc/rsyslog.d/90-remote.conf": TLS_RSYSLOG}, Status.PASS),
        (["rsyslog.service"], {"/etc/rsyslog.d/90-remote.conf": LEGACY_TLS_RSYSLOG}, Status.PASS),
        (["rsyslog.service"], {"/etc/rsyslog.d/90-remote.conf": "*.* @logs.example.test:514\n"}, Status.PARTIAL),
    ],
)
def test_log_shipping_transport(make_facts, units, files, expected):
    facts = make_facts(commands=lab_commands(systemctl=systemctl_show(active=units)), files=files)
    assert_status(run("LOG-03", facts), expected)


def test_declared_log_host_that_receives_nothing_is_named(make_facts):
    facts = make_facts(
        commands=lab_commands(systemctl=systemctl_show(inactive=[UPLOAD])),
        intent={"baseline": {"log_host": "logs.example.test:19532"}},
    )
    result = run("LOG-03", facts)
    assert_status(result, Status.FAIL)
    assert "logs.example.test:19532" in result.message


ACCEPT_LOG03 = {
    "log_host": "",
    "accepted_exceptions": {"LOG-03": {"reason": "no central log host yet"}},
    "accepted_exceptions_variable": "rampart_baseline_accepted_exceptions",
}


def nothing_ships(make_facts, baseline_intent):
    commands = lab_commands(systemctl=systemctl_show(inactive=[UPLOAD]))
    return make_facts(commands=commands, intent={"baseline": baseline_intent})


def test_no_log_host_accepted_by_the_intent_is_an_accepted_exception(make_facts):
    facts = nothing_ships(make_facts, ACCEPT_LOG03)
    result = run("LOG-03", facts)
    assert_status(result, Status.NOT_APPLICABLE)  # never a pass
    assert "rampart_baseline_accepted_exceptions[LOG-03]" in result.message
    assert "no central log host yet" in result.message
    assert any(e.startswith("accepted (would fail): fail:") for e in result.evidence)


@pytest.mark.parametrize(
    "declared",
    [
        # A declared log host that receives nothing is broken shipping: the acceptance does not cover it.
        {**ACCEPT_LOG03, "log_host": "logs.example.test:19532"},
        # An acceptance of another check, or one without a reason, accepts nothing.
        {**ACCEPT_LOG03, "accepted_exceptions": {"LOG-02": {"reason": "x"}}},
        {**ACCEPT_LOG03, "accepted_exceptions": {"LOG-03": {"reason": " "}}},
        {**ACCEPT_LOG03, "accepted_exceptions": {"LOG-03": "no reason mapping"}},
    ],
)
def test_log03_acceptance_covers_only_no_log_host_with_a_reason(make_facts, declared):
    facts = nothing_ships(make_facts, declared)
    assert_status(run("LOG-03", facts), Status.FAIL)


def test_log03_acceptance_leaves_real_shipping_judged(make_facts):
    # Shipping in clear text stays partial even when the intent accepts "no log host".
    facts = make_facts(
        commands=lab_commands(systemctl=systemctl_show(active=["rsyslog.service"])),
        files={"/etc/rsyslog.d/90-remote.conf": "*.* @logs.example.test:514\n"},
        intent={"baseline": ACCEPT_LOG03},
    )
    assert_status(run("LOG-03", facts), Status.PARTIAL)


def test_malformed_baseline_intent_is_an_error(make_facts):
    facts = make_facts(commands=lab_commands(systemctl=systemctl_show()), intent={"baseline": "{not json"})
    assert_status(run("LOG-03", facts), Status.ERROR)
