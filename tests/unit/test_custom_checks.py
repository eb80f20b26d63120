"""Declarative custom checks: validation messages and each kind's pass/fail behaviour."""

from __future__ import annotations

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.custom_checks import (
    CustomCheckError,
    compile_custom_checks,
)
from ansible_collections.rampart.hardening.plugins.module_utils.engine import AuditConfigError, run_audit
from ansible_collections.rampart.hardening.plugins.module_utils.facts import CommandOutput
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status, passed
from ansible_collections.rampart.hardening.plugins.module_utils.registry import RegisteredCheck, make_meta

SS = (
    "tcp   LISTEN 0      511          0.0.0.0:80        0.0.0.0:*\n"
    "tcp   LISTEN 0      128             [::]:22           [::]:*\n"
    "udp   UNCONN 0      0          127.0.0.1:323       0.0.0.0:*\n"
)
SS_ARGV = ("ss", "-H", "-l", "-n", "-t", "-u")


def spec(kind: str, body: dict, **extra) -> dict:
    return {"id": "SITE-01", "title": "site rule", "severity": "medium", kind: body, **extra}


def status_of(make_facts, one_spec: dict, **facts_kwargs) -> Status:
    report = run_audit(make_facts(**facts_kwargs), custom_checks=[one_spec], available=[])
    (finding,) = report.findings
    return finding.status


def test_defaults_and_metadata() -> None:
    (compiled,) = compile_custom_checks([spec("package_absent", {"name": "telnetd"}, references=["CIS 2.2"])])
    assert compiled.meta.category == "custom"
    assert compiled.meta.severity.value == "medium"
    assert compiled.meta.references == ("CIS 2.2",)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"title": "t", "severity": "low", "sysctl": {"name": "kernel.x", "value": 1}}, "'id' is required"),
        (spec("sysctl", {"name": "kernel.x", "value": 1}, severity="urgent"), "'severity' must be one of"),
        (spec("sysctl", {"name": "kernel.x", "value": 1}, category="misc"), "unknown category 'misc'"),
        ({"id": "S-1", "title": "t", "severity": "low"}, "exactly one of file, regex"),
        (
            {
                "id": "S-1",
                "title": "t",
                "severity": "low",
                "file": {"path": "/a", "owner": "root"},
                "port": {"port": 1},
            },
            "exactly one of",
        ),
        (spec("file", {"path": "etc/shadow", "mode_max": "0640"}), "must be absolute"),
        (spec("file", {"path": "/etc/shadow", "mode_max": "rw-r-----"}), "octal string"),
        (spec("file", {"path": "/etc/shadow"}), "needs at least one of mode_max, owner, group"),
        (spec("regex", {"path": "/etc/x", "pattern": "(unclosed"}), "not a valid regex"),
        (spec("regex", {"path": "/etc/x"}), "'regex.pattern' is required"),
        (spec("command", {"argv": "id -u", "expect_rc": 0}), "'command.argv' has the wrong type"),
        (spec("command", {"argv": ["true"]}), "needs expect_rc and/or stdout_regex"),
        (spec("port", {"port": 70000}), "must be 1-65535"),
        (spec("port", {"port": 22, "proto": "sctp"}), "tcp or udp"),
        (spec("port", {"port": "22"}), "'port.port' has the wrong type"),
        (spec("port", {"port": 22, "listening": "yes"}), "'port.listening' has the wrong type"),
        (spec("service", {"name": "nginx", "state": "running"}), "active or inactive"),
        (spec("service", {"name": "nginx; rm -rf /", "state": "active"}), "unexpected characters"),
        (spec("sysctl", {"name": "kernel", "value": 1}), "'sysctl.name' looks wrong"),
        (spec("package_absent", {"name": "x", "version": "1"}), "unknown key 'package_absent.version'"),
        (spec("package_absent", {"name": "x"}, colour="red"), "unknown key 'colour'"),
        ("not a mapping", "expected a mapping"),
    ],
)
def test_malformed_specs_are_reported_clearly(bad, message) -> None:
    with pytest.raises(CustomCheckError, match=message):
        compile_custom_checks([bad])


def test_all_problems_are_reported_at_once_and_duplicates_caught() -> None:
    with pytest.raises(CustomCheckError) as info:
        compile_custom_checks(
            [
                spec("port", {"port": 0}),
                spec("port", {"port": 22}),
                {"id": "S-2", "title": "", "severity": "low", "port": {"port": 1}},
            ]
        )
    problems = info.value.problems
    assert any("custom_checks[0] (SITE-01): 'port.port' must be 1-65535" in p for p in problems)
    assert any("custom_checks[2] (S-2): 'title' is required" in p for p in problems)
    assert any("'SITE-01' is used more than once" in p for p in problems)


def test_custom_ids_may_not_shadow_builtins(make_facts) -> None:
    builtin = RegisteredCheck(make_meta("SITE-01", "b", "tls", "low", "r", "f"), lambda f: passed("x"))
    with pytest.raises(AuditConfigError, match="clash with built-in"):
        run_audit(make_facts(), custom_checks=[spec("port", {"port": 22})], available=[builtin])


@pytest.mark.parametrize(
    ("body", "mode", "expected"),
    [
        ({"path": "/etc/shadow", "mode_max": "0640", "owner": "root"}, 0o640, Status.PASS),
        ({"path": "/etc/shadow", "mode_max": "0640"}, 0o600, Status.PASS),
        ({"path": "/etc/shadow", "mode_max": "0640"}, 0o644, Status.FAIL),
        ({"path": "/etc/shadow", "mode_max": 0o600}, 0o4600, Status.FAIL),
        ({"path": "/etc/shadow", "group": "shadow"}, 0o640, Status.FAIL),
        ({"path": "/etc/missing", "mode_max": "0640"}, 0o640, Status.FAIL),
    ],
)
def test_file_kind(make_facts, body, mode, expected) -> None:
    got = status_of(make_facts, spec("file", body), files={"/etc/shadow": ("root:*:1::::::\n", mode)})
    assert got is expected


@pytest.mark.parametrize(
    ("pattern", "present", "expected"),
    [
        (r"^PermitRootLogin\s+no$", True, Status.PASS),
        (r"^PermitRootLogin\s+yes$", True, Status.FAIL),
        (r"^PasswordAuthentication\s+yes$", False, Status.FAIL),
        (r"^X11Forwarding\s+yes$", False, Status.PASS),
    ],
)
def test_regex_kind(make_facts, pattern, present, expected) -> None:
    files = {"/etc/ssh/sshd_config": "PermitRootLogin no\nPasswordAuthentication yes\n"}
    body = {"path": "/etc/ssh/sshd_config", "pattern": pattern, "present": present}
    assert status_of(make_facts, spec("regex", body), files=files) is expected


def test_regex_kind_missing_file(make_facts) -> None:
    assert status_of(make_facts, spec("regex", {"path": "/etc/none", "pattern": "x"})) is Status.FAIL
    assert status_of(make_facts, spec("regex", {"path": "/etc/none", "pattern": "x", "present": False})) is Status.PASS


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"argv": ["getenforce"], "expect_rc": 0}, Status.PASS),
        ({"argv": ["getenforce"], "stdout_regex": "^Enforcing$"}, Status.PASS),
        ({"argv": ["getenforce"], "stdout_regex": "^Permissive$"}, Status.FAIL),
        ({"argv": ["getenforce"], "expect_rc": 1}, Status.FAIL),
        ({"argv": ["not-installed"], "expect_rc": 0}, Status.ERROR),
    ],
)
def test_command_kind(make_facts, body, expected) -> None:
    commands = {("getenforce",): CommandOutput(0, "Enforcing\n", "")}
    assert status_of(make_facts, spec("command", body), commands=commands) is expected


@pytest.mark.parametrize(("value", "expected"), [(2, Status.PASS), ("2", Status.PASS), (1, Status.FAIL)])
def test_sysctl_kind(make_facts, value, expected) -> None:
    files = {"/proc/sys/kernel/randomize_va_space": "2\n"}
    assert (
        status_of(make_facts, spec("sysctl", {"name": "kernel.randomize_va_space", "value": value}), files=files)
        is expected
    )


def test_sysctl_kind_missing_key_is_an_error(make_facts) -> None:
    assert status_of(make_facts, spec("sysctl", {"name": "net.nope.x", "value": 1})) is Status.ERROR


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"port": 80}, Status.PASS),
        ({"port": 80, "listening": False}, Status.FAIL),
        ({"port": 6379, "listening": False}, Status.PASS),
        ({"port": 6379}, Status.FAIL),
        ({"port": 323, "proto": "udp"}, Status.PASS),
        ({"port": 323}, Status.FAIL),
    ],
)
def test_port_kind(make_facts, body, expected) -> None:
    assert status_of(make_facts, spec("port", body), commands={SS_ARGV: SS}) is expected


def test_port_kind_without_ss_is_an_error(make_facts) -> None:
    assert status_of(make_facts, spec("port", {"port": 80})) is Status.ERROR


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (CommandOutput(0, "install ok installed 0.17-22", ""), Status.FAIL),
        (CommandOutput(0, "deinstall ok config-files 0.17-22", ""), Status.PASS),
        (CommandOutput(1, "", "dpkg-query: no packages found matching telnetd"), Status.PASS),
    ],
)
def test_package_absent_kind(make_facts, output, expected) -> None:
    argv = ("dpkg-query", "-W", "-f=${Status} ${Version}", "telnetd")
    assert status_of(make_facts, spec("package_absent", {"name": "telnetd"}), commands={argv: output}) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "nftables", "state": "active", "enabled": True}, Status.PASS),
        ({"name": "nftables", "state": "inactive"}, Status.FAIL),
        ({"name": "nftables", "enabled": False}, Status.FAIL),
    ],
)
def test_service_kind(make_facts, body, expected) -> None:
    commands = {
        ("systemctl", "is-active", "nftables"): CommandOutput(0, "active\n", ""),
        ("systemctl", "is-enabled", "nftables"): CommandOutput(0, "enabled\n", ""),
    }
    assert status_of(make_facts, spec("service", body), commands=commands) is expected


def test_service_inactive_matches_inactive(make_facts) -> None:
    commands = {("systemctl", "is-active", "telnet"): CommandOutput(3, "inactive\n", "")}
    assert (
        status_of(make_facts, spec("service", {"name": "telnet", "state": "inactive"}), commands=commands)
        is Status.PASS
    )
