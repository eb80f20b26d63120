"""LOG-01..03."""

from __future__ import annotations

import pytest
from check_helpers import GARBAGE, HARDENED, assert_status, lab_commands, nginx_facts, replace, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

ROTATE = {"/etc/logrotate.d/nginx": "/var/log/nginx/*.log {\n\tdaily\n\tcreate 0640 www-data adm\n}\n"}
LOGS = {"/var/log/nginx/access.log": ("", 0o640), "/var/log/nginx/error.log": ("", 0o640)}


def test_nginx_logs(make_facts):
    assert_status(run("LOG-01", nginx_facts(make_facts, files={**ROTATE, **LOGS})), Status.PASS)


@pytest.mark.parametrize(
    ("text", "files", "needle"),
    [
        (
            replace("access_log /var/log/nginx/access.log;", "access_log off;")(HARDENED),
            {**ROTATE, **LOGS},
            "access_log off",
        ),
        (replace("error.log warn;", "error.log debug;")(HARDENED), {**ROTATE, **LOGS}, "debug"),
        (HARDENED, LOGS, "not rotated"),
        (HARDENED, {**ROTATE, "/var/log/nginx/access.log": ("", 0o644)}, "0644"),
    ],
)
def test_nginx_log_problems(make_facts, text, files, needle):
    result = run("LOG-01", nginx_facts(make_facts, text=text, files=files))
    assert_status(result, Status.FAIL)
    assert needle in result.message


def test_nginx_logs_absent_or_garbage(make_facts):
    assert_status(run("LOG-01", make_facts(commands=lab_commands(nginx=None))), Status.NOT_APPLICABLE)
    assert_status(run("LOG-01", nginx_facts(make_facts, text=GARBAGE)), Status.ERROR)


@pytest.mark.parametrize(
    ("units", "files", "expected"),
    [
        (["auditd.service"], {"/etc/audit/rules.d/rampart.rules": "-w /etc/passwd -p wa -k identity\n"}, Status.PASS),
        ([], {"/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n"}, Status.PASS),
        ([], {"/var/log/journal/.keep": ""}, Status.PASS),  # Storage=auto with the directory
        (
            [],
            {"/etc/systemd/journald.conf": "[Journal]\nStorage=volatile\n", "/var/log/journal/.keep": ""},
            Status.FAIL,
        ),
        (["auditd.service"], {"/etc/audit/rules.d/empty.rules": "\n"}, Status.FAIL),
    ],
)
def test_audit_trail(make_facts, units, files, expected):
    facts = make_facts(commands=lab_commands(systemctl=systemctl_show(active=units)), files=files)
    assert_status(run("LOG-02", facts), expected)


@pytest.mark.parametrize(
    ("units", "files", "expected"),
    [
        (["vector.service"], {}, Status.PASS),
        # Forwarding in clear text ships the logs but lets anyone on the path read or forge them.
        (["rsyslog.service"], {"/etc/rsyslog.d/90-remote.conf": "*.* @@logs.example.test:6514\n"}, Status.PARTIAL),
        (
            ["rsyslog.service"],
            {"/etc/rsyslog.d/90-remote.conf": 'action(type="omfwd" target="10.0.0.9" port="514")\n'},
            Status.PARTIAL,
        ),
        (
            ["rsyslog.service"],
            {"/etc/rsyslog.conf": "#*.* @@logs.example.test:6514\n*.* /var/log/syslog\n"},
            Status.FAIL,
        ),
        ([], {}, Status.FAIL),
    ],
)
def test_log_shipping(make_facts, units, files, expected):
    facts = make_facts(commands=lab_commands(systemctl=systemctl_show(active=units)), files=files)
    assert_status(run("LOG-03", facts), expected)


@pytest.mark.parametrize("check_id", ["LOG-02", "LOG-03"])
def test_garbage_systemctl_is_an_error(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands(systemctl=GARBAGE))), Status.ERROR)
