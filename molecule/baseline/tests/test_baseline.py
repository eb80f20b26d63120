"""Behaviour of the baseline role, seen from the host, the collector and the audit."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from labhosts import audit_findings, lab_host, must_run

HOST = "rampart-baseline-host"
LOGS = "rampart-baseline-logs"
PASSWORD = "Lab-Passw0rd-for-faillock"  # the prepare step's throwaway lab account
DENY = 3  # rampart_baseline_faillock_deny in converge.yml
NETWORK_SYSCTLS = {
    "net.ipv4.conf.all.rp_filter": "1",
    "net.ipv4.conf.all.accept_redirects": "0",
    "net.ipv6.conf.all.accept_redirects": "0",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.all.accept_source_route": "0",
    "net.ipv4.conf.all.log_martians": "1",
    "net.ipv4.conf.default.log_martians": "1",
    "net.ipv4.tcp_syncookies": "1",
    "net.ipv4.ip_forward": "0",
}


@pytest.fixture(scope="module")
def host():
    return lab_host(HOST)


@pytest.fixture(scope="module")
def logs():
    return lab_host(LOGS)


def sysctls(target, keys) -> dict[str, str]:
    out = must_run(target, "sysctl " + " ".join(keys))
    return {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in out.splitlines())}


def test_network_sysctls_are_effective_in_the_container(host, logs):
    """The role's values are live in the host's network namespace; the untouched collector keeps podman's."""
    effective = sysctls(host, NETWORK_SYSCTLS)
    assert effective == NETWORK_SYSCTLS
    stock = sysctls(logs, ["net.ipv4.conf.all.log_martians", "net.ipv4.conf.all.send_redirects"])
    assert stock != {"net.ipv4.conf.all.log_martians": "1", "net.ipv4.conf.all.send_redirects": "0"}


def test_network_sysctls_come_back_after_a_restart_of_the_unit(host):
    """The boot-time unit (systemd-sysctl is skipped in containers) re-applies a value changed behind its back."""
    must_run(
        host,
        "unshare --mount sh -c 'mount -o remount,rw /proc/sys && echo 0 > /proc/sys/net/ipv4/conf/all/log_martians'",
    )
    assert sysctls(host, ["net.ipv4.conf.all.log_martians"])["net.ipv4.conf.all.log_martians"] == "0"
    must_run(host, "systemctl restart rampart-net-sysctl.service")
    assert sysctls(host, ["net.ipv4.conf.all.log_martians"])["net.ipv4.conf.all.log_martians"] == "1"


PER_INTERFACE = {
    "ipv4": {"accept_redirects": "0", "send_redirects": "0", "secure_redirects": "0", "rp_filter": "1"},
    "ipv6": {"accept_redirects": "0"},
}


def interfaces(host, family: str) -> list[str]:
    names = must_run(host, f"ls /proc/sys/net/{family}/conf").split()
    return [name for name in names if name not in ("all", "default", "lo")]


def test_network_sysctls_are_effective_on_each_interface(host):
    """NET-07 per interface: the kernel ORs conf.all with eth0's own accept_redirects (and IPv6 reads
    eth0's alone), so the role's conf.* lines must reach the interfaces that existed before it ran."""
    assert interfaces(host, "ipv4"), "no interface besides lo"
    for family, wanted in PER_INTERFACE.items():
        for iface in interfaces(host, family):
            for param, want in wanted.items():
                got = must_run(host, f"cat /proc/sys/net/{family}/conf/{iface}/{param}").strip()
                assert got == want, (family, iface, param, got)


def test_per_interface_sysctls_come_back_after_a_restart_of_the_unit(host):
    """The unit's sysctl -p expands the file's net.ipv4.conf.*.accept_redirects line over eth0 again."""
    iface = interfaces(host, "ipv4")[0]
    path = f"/proc/sys/net/ipv4/conf/{iface}/accept_redirects"
    must_run(host, f"unshare --mount sh -c 'mount -o remount,rw /proc/sys && echo 1 > {path}'")
    assert must_run(host, f"cat {path}").strip() == "1"
    must_run(host, "systemctl restart rampart-net-sysctl.service")
    assert must_run(host, f"cat {path}").strip() == "0"


def test_kernel_sysctls_are_not_written_inside_a_container(host):
    assert not host.file("/etc/sysctl.d/60-rampart-kernel.conf").exists
    intent = json.loads(must_run(host, "cat /etc/rampart/intent/baseline.json"))
    assert intent["container"] is True
    assert intent["sysctl_kernel"] == {}


def test_unattended_upgrade_dry_run_parses_the_configuration(host):
    result = host.run("unattended-upgrade --dry-run --debug")
    assert result.rc == 0, result.stdout[-2000:] + result.stderr[-2000:]
    text = result.stdout + result.stderr
    assert "Allowed origins are:" in text
    assert "label=Debian-Security" in text
    assert "Traceback" not in text


def test_a_log_line_reaches_the_collector_over_tls(host, logs):
    marker = f"rampart-baseline-{uuid.uuid4()}"
    must_run(host, "logger -t rampart-verify %s", marker)
    deadline = time.monotonic() + 90
    found = ""
    while time.monotonic() < deadline and marker not in found:
        found = logs.run("journalctl -D /var/log/journal/remote --no-pager -o cat -t rampart-verify").stdout
        if marker not in found:
            time.sleep(2)
    assert marker in found, "the log line written on the host never reached the collector"
    conf = must_run(host, "cat /etc/systemd/journal-upload.conf.d/60-rampart.conf")
    assert f"URL=https://{LOGS}:19532" in conf


def test_the_log_channel_is_tls_verified_against_the_lab_ca(host):
    """What journal-upload talks to: only HTTPS, with a certificate that chains to the CA the role installed.

    (Debian 12's systemd-journal-remote is built without GnuTLS, so it cannot check client
    certificates; the server side of the channel is what is verified.)
    """
    url = f"https://{LOGS}:19532/"
    verified = host.run("curl -sS -o /dev/null -w '%%{http_code}' --cacert /etc/rampart/journal-upload/ca.pem %s", url)
    assert verified.rc == 0, verified.stderr
    assert host.run("curl -sS -o /dev/null %s", url).rc != 0, "a certificate outside the system trust must not verify"
    assert host.run("curl -sS -o /dev/null http://%s:19532/", LOGS).rc != 0, "plain HTTP must not be spoken"


def ssh_login(client, password: str) -> int:
    """One password login as lockme from the collector container (SSH_ASKPASS answers the prompt)."""
    script = f"/tmp/askpass-{uuid.uuid4().hex}"
    must_run(client, f"printf '#!/bin/sh\\necho %s\\n' > {script} && chmod 700 {script}", password)
    result = client.run(
        f"SSH_ASKPASS={script} SSH_ASKPASS_REQUIRE=force DISPLAY=none setsid -w ssh -o StrictHostKeyChecking=no "
        "-o UserKnownHostsFile=/dev/null -o PreferredAuthentications=password -o PubkeyAuthentication=no "
        f"-o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 lockme@{HOST} true"
    )
    client.run(f"rm -f {script}")
    return result.rc


def test_faillock_locks_the_account_after_failed_ssh_logins(host, logs):
    must_run(host, "faillock --user lockme --reset")
    assert ssh_login(logs, PASSWORD) == 0, "the correct password must work before the test"
    for _ in range(DENY):
        assert ssh_login(logs, "wrong-password") != 0
    # Locked now: even the right password is refused, and faillock records the failures.
    assert ssh_login(logs, PASSWORD) != 0
    tally = must_run(host, "faillock --user lockme")
    assert len([line for line in tally.splitlines() if " V" in line or "RHOST" in line]) >= DENY
    must_run(host, "faillock --user lockme --reset")
    assert ssh_login(logs, PASSWORD) == 0, "an administrator's reset unlocks the account"


def audit() -> dict[str, dict]:
    return audit_findings(HOST, ["SYS-*", "NET-07", "LOG-02", "LOG-03", "SEC-04"])


def test_audit_inside_the_container(host):
    findings = audit()
    for check_id in ("SYS-02", "SYS-03"):
        assert findings[check_id]["status"] == "not_applicable", findings[check_id]
        assert "inside a container; the container host owns this setting" in findings[check_id]["evidence"]
    for check_id in ("SYS-01", "NET-07", "LOG-02", "LOG-03", "SEC-04"):
        assert findings[check_id]["status"] == "pass", findings[check_id]
