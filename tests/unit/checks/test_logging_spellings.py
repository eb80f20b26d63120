"""LOG-02/03 against the layouts real hosts have: stock auditd rules, systemd drop-in order,
rsyslog forwarding that is commented out, over UDP, or spelled in RainerScript."""

from __future__ import annotations

import pytest
from check_helpers import HARDENED, assert_status, lab_commands, nginx_facts, replace, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.facts import ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

# /etc/audit/rules.d/audit.rules as the auditd package installs it: control lines only, no rule
# ('auditctl -l' prints "No rules").
STOCK_AUDIT_RULES = (
    "## First rule - delete all\n-D\n\n## Increase the buffers to survive stress events.\n"
    "## Make this bigger for busy systems\n-b 8192\n\n"
    "## This determine how long to wait in burst of events\n--backlog_wait_time 60000\n\n"
    "## Set failure mode to syslog\n-f 1\n"
)
IDENTITY_RULES = "-w /etc/passwd -p wa -k identity\n-a always,exit -F arch=b64 -S sethostname -k system-locale\n"


def logging_facts(make_facts, units, files):
    return make_facts(commands=lab_commands(systemctl=systemctl_show(active=units)), files=files)


# ----- LOG-02: auditd --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"/etc/audit/rules.d/audit.rules": STOCK_AUDIT_RULES}, Status.FAIL),
        ({"/etc/audit/rules.d/audit.rules": "# -w /etc/passwd -p wa -k identity\n-D\n"}, Status.FAIL),
        ({"/etc/audit/rules.d/audit.rules": STOCK_AUDIT_RULES + IDENTITY_RULES + "-e 0\n"}, Status.FAIL),
        ({"/etc/audit/rules.d/audit.rules": STOCK_AUDIT_RULES + IDENTITY_RULES}, Status.PASS),
        ({"/etc/audit/rules.d/audit.rules": STOCK_AUDIT_RULES + IDENTITY_RULES + "-e 2\n"}, Status.PASS),
        # The stock file with a persistent journal still passes (the journal is the fallback).
        ({"/etc/audit/rules.d/audit.rules": STOCK_AUDIT_RULES, "/var/log/journal/.keep": ""}, Status.PASS),
    ],
)
def test_auditd_needs_an_actual_rule(make_facts, files, expected):
    facts = logging_facts(make_facts, ["auditd.service"], {"/etc/systemd/journald.conf": "[Journal]\n", **files})
    result = run("LOG-02", facts)
    assert_status(result, expected)


# ----- LOG-02: journald drop-ins (journald.conf(5): sorted by file name across /etc, /run, /usr/lib;
# the latest name wins; a name in /etc masks the same name in /run and /usr/lib) ------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "/etc/systemd/journald.conf.d/zz-volatile.conf": "[Journal]\nStorage=volatile\n",
                "/usr/lib/systemd/journald.conf.d/50-persist.conf": "[Journal]\nStorage=persistent\n",
            },
            Status.FAIL,
        ),
        (
            {
                "/etc/systemd/journald.conf": "[Journal]\nStorage=persistent\n",
                "/run/systemd/journald.conf.d/90-volatile.conf": "[Journal]\nStorage=volatile\n",
            },
            Status.FAIL,
        ),
        (
            {
                "/usr/lib/systemd/journald.conf.d/60-x.conf": "[Journal]\nStorage=volatile\n",
                "/etc/systemd/journald.conf.d/60-x.conf": "[Journal]\nStorage=persistent\n",
            },
            Status.PASS,
        ),
        (
            {
                "/usr/lib/systemd/journald.conf.d/10-vendor.conf": "[Journal]\nStorage=volatile\n",
                "/etc/systemd/journald.conf.d/60-rampart.conf": "[Journal]\nStorage=persistent\n",
            },
            Status.PASS,
        ),
        # journald knows only lower-case values: "Persistent" is refused and the default (auto) stays.
        ({"/etc/systemd/journald.conf": "[Journal]\nStorage=Persistent\n"}, Status.FAIL),
        # A commented or out-of-section Storage= is no setting.
        ({"/etc/systemd/journald.conf": "[Journal]\n#Storage=persistent\n"}, Status.FAIL),
    ],
)
def test_journald_dropins_in_systemd_order(make_facts, files, expected):
    assert_status(run("LOG-02", logging_facts(make_facts, [], files)), expected)


# ----- LOG-03: rsyslog forwarding ---------------------------------------------------------------

# The sample block RHEL's /etc/rsyslog.conf ships, every line commented out.
RHEL_SAMPLE = """# ### sample forwarding rule ###
#action(type="omfwd"
# # An on-disk queue is created for this action. If the remote host is
# # down, messages are spooled to disk and sent when it is up again.
#queue.filename="fwdRule1"       # unique name prefix for spool files
#queue.maxdiskspace="1g"         # 1gb space limit (use as much as possible)
#queue.saveonshutdown="on"       # save messages to disk on shutdown
#queue.type="LinkedList"         # run asynchronously
#action.resumeRetryCount="-1"    # infinite retries if host is down
# # Remote Logging (we use TCP for reliable delivery)
# # remote_host is: name/ip, e.g. 192.168.0.1, port optional e.g. 10514
#Target="remote_host" Port="XXX" Protocol="tcp")
"""
TLS_GLOBALS = (
    "$DefaultNetstreamDriver gtls\n$DefaultNetstreamDriverCAFile /etc/ssl/ca.pem\n$ActionSendStreamDriverMode 1\n"
)
TLS_ACTION = (
    'action(Type="omfwd" Target="logs.example.test" Port="6514" Protocol="tcp"\n'
    '       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name")\n'
)


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        ("*.* /var/log/syslog\n" + RHEL_SAMPLE, Status.FAIL),
        ('/* action(type="omfwd" target="10.0.0.9" protocol="tcp") */\n*.* /var/log/syslog\n', Status.FAIL),
        # TLS directives that are commented out do not encrypt anything.
        ("#" + TLS_GLOBALS.replace("\n$", "\n#$") + "*.* @@logs.example.test:6514\n", Status.PARTIAL),
        # UDP (one @) is never TLS, whatever the stream driver defaults say.
        (TLS_GLOBALS + "*.* @logs.example.test:514\n", Status.PARTIAL),
        # omfwd defaults to protocol udp: StreamDriver/Mode on a UDP action encrypt nothing.
        (TLS_ACTION.replace(' Protocol="tcp"', ""), Status.PARTIAL),
        # One clear-text copy next to a TLS one still leaks every line.
        (TLS_ACTION + "*.* @10.0.0.9\n", Status.PARTIAL),
        (TLS_ACTION, Status.PASS),  # parameter names are case-insensitive
        (TLS_GLOBALS + "*.* @@logs.example.test:6514\n", Status.PASS),
        ('global(DefaultNetstreamDriver="ossl")\n' + TLS_ACTION.replace(' StreamDriver="gtls"', ""), Status.PASS),
    ],
)
def test_rsyslog_forwarding(make_facts, conf, expected):
    facts = logging_facts(make_facts, ["rsyslog.service"], {"/etc/rsyslog.d/90-remote.conf": conf})
    assert_status(run("LOG-03", facts), expected)


def test_unreadable_rsyslog_dropin_is_an_error(make_facts, monkeypatch):
    facts = logging_facts(make_facts, ["rsyslog.service"], {"/etc/rsyslog.d/90-remote.conf": TLS_ACTION})
    read_text = facts.read_text

    def denied(path: str) -> str | None:
        if path.endswith("90-remote.conf"):
            raise ProbeError(f"cannot read {path}: Permission denied")
        return read_text(path)

    monkeypatch.setattr(facts, "read_text", denied)
    assert_status(run("LOG-03", facts), Status.ERROR)


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        (':msg, contains, "sshd" @@logs.example.test:6514\n', Status.PARTIAL),  # property filter, TCP clear
        ("auth,authpriv.* @(z9)[2001:db8::5]:514\n", Status.PARTIAL),  # options and an IPv6 target
        ('$ActionQueueFileName @fwd\ntemplate(name="t" type="string" string="%msg% @x")\n', Status.FAIL),
    ],
)
def test_rsyslog_legacy_spellings(make_facts, conf, expected):
    facts = logging_facts(make_facts, ["rsyslog.service"], {"/etc/rsyslog.conf": conf})
    assert_status(run("LOG-03", facts), expected)


# ----- LOG-01: nginx logs that go nowhere, or to files outside /var/log/nginx -----------------
NGINX_ROTATE = {"/etc/logrotate.d/nginx": "/var/log/nginx/*.log {\n\tdaily\n\tcreate 0640 www-data adm\n}\n"}
NGINX_LOGS = {"/var/log/nginx/access.log": ("", 0o640), "/var/log/nginx/error.log": ("", 0o640)}


@pytest.mark.parametrize(
    ("old", "new", "files", "needle"),
    [
        ("access_log /var/log/nginx/access.log;", "access_log /dev/null;", {}, "/dev/null"),
        ("error_log /var/log/nginx/error.log warn;", "error_log /dev/null crit;", {}, "/dev/null"),
        (
            "access_log /var/log/nginx/access.log;",
            "access_log /srv/app/logs/access.log combined;",
            {"/srv/app/logs/access.log": ("", 0o644)},
            "/srv/app/logs/access.log",
        ),
    ],
)
def test_nginx_logs_discarded_or_readable_elsewhere_fail(make_facts, old, new, files, needle):
    text = replace(old, new)(HARDENED)
    result = run("LOG-01", nginx_facts(make_facts, text=text, files={**NGINX_ROTATE, **NGINX_LOGS, **files}))
    assert_status(result, Status.FAIL)
    assert any(needle in line for line in [result.message, *result.evidence])


def test_nginx_log_outside_var_log_nginx_private_passes(make_facts):
    text = replace("access_log /var/log/nginx/access.log;", "access_log /srv/app/logs/access.log;")(HARDENED)
    files = {**NGINX_ROTATE, **NGINX_LOGS, "/srv/app/logs/access.log": ("", 0o640)}
    result = run("LOG-01", nginx_facts(make_facts, text=text, files=files))
    assert_status(result, Status.PASS)
    assert any("/srv/app/logs/access.log" in line for line in result.evidence)
