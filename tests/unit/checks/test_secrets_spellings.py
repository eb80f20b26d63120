"""SEC-01..03 against spellings the lab fixtures do not use.

- SSH private keys (host keys in /etc/ssh, users' ~/.ssh/id_*) are secret files: OpenSSH only
  warns about a loose user key, and a readable host key lets anyone impersonate the server.
- systemd unit files (and shell env files) continue a line that ends with a backslash, so a
  credential can sit on the line after ``--password \\``.
"""

from __future__ import annotations

import base64

import pytest
from check_helpers import assert_status, assert_value_hidden, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.secrets_scan import scan_text

SECRET = "Zt8kq2LmW9pXv4r"
PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
UNIT = "/etc/systemd/system/app.service"


@pytest.mark.parametrize(
    "path",
    [
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssh/ssh_host_rsa_key",
        "/root/.ssh/id_ed25519",
        "/home/deploy/.ssh/id_rsa",
        "/home/deploy/.ssh/id_ecdsa_sk",
    ],
)
def test_world_readable_ssh_private_key_fails(make_facts, path):
    result = run("SEC-01", make_facts(commands=lab_commands(), files={path: (PEM, 0o644)}))
    assert_status(result, Status.FAIL)
    assert path in result.message


def test_private_ssh_keys_pass_and_public_keys_are_not_secrets(make_facts):
    files = {
        "/etc/ssh/ssh_host_ed25519_key": (PEM, 0o600),
        "/etc/ssh/ssh_host_ed25519_key.pub": ("ssh-ed25519 AAAA host\n", 0o644),
        "/home/deploy/.ssh/id_ed25519": (PEM, 0o600),
        "/home/deploy/.ssh/id_ed25519.pub": ("ssh-ed25519 AAAA deploy\n", 0o644),
        "/home/deploy/.ssh/id_ed25519-cert.pub": ("ssh-ed25519-cert-v01@openssh.com AAAA\n", 0o644),
    }
    result = run("SEC-01", make_facts(commands=lab_commands(), files=files))
    assert_status(result, Status.PASS)
    assert not any(item.endswith(".pub") for item in result.evidence)


@pytest.mark.parametrize(
    ("unit", "line"),
    [
        (f"[Service]\nExecStart=/usr/bin/app \\\n    --db-password \\\n    {SECRET}\n", 2),  # the miss
        (f"[Service]\nExecStart=/usr/bin/app \\\n    --db-password={SECRET} \\\n    --verbose\n", 3),
        (f"[Service]\nEnvironment=LOG=info \\\n  DB_PASSWORD={SECRET}\n", 3),
    ],
    ids=["flag-and-value-on-two-lines", "pair-on-a-continuation-line", "environment-continued"],
)
def test_credential_on_a_continuation_line_fails(make_facts, unit, line):
    result = run("SEC-02", make_facts(commands=lab_commands(), files={UNIT: (unit, 0o644)}))
    assert_status(result, Status.FAIL)
    assert f"{UNIT}:{line}:" in result.message
    assert_value_hidden(result, SECRET)


def test_continuation_without_credential_passes(make_facts):
    unit = "[Service]\nExecStart=/usr/bin/app \\\n    --password-file \\\n    /run/credentials/app/db\n"
    assert_status(run("SEC-02", make_facts(commands=lab_commands(), files={UNIT: (unit, 0o644)})), Status.PASS)


def test_continuation_hit_is_reported_once():
    text = f"ExecStart=/usr/bin/app --password={SECRET} \\\n  --verbose\nA=1\n"
    assert [hit.line for hit in scan_text(text)] == [1]


def test_base64_private_key_in_env_file_fails(make_facts):
    wrapped = base64.b64encode(PEM.encode()).decode()
    files = {"/srv/app/.env": (f"APP_ENV=prod\nDEPLOY_SSH_B64={wrapped}\n", 0o644)}
    result = run("SEC-02", make_facts(commands=lab_commands(), files=files))
    assert_status(result, Status.FAIL)
    assert "/srv/app/.env:2" in result.message
    assert wrapped[:20] not in result.message


def test_truncated_base64_is_not_a_crash():
    assert scan_text("KEY_B64=LS0tLS1CRUdJTiBPUEVOU1NI!!!\nX=LS0tLS1CRUdJTi\n") == []


@pytest.mark.parametrize(
    "args",
    ["sshpass -p Zt8kq2LmW9pXv4r ssh deploy@10.0.0.7", "/usr/bin/sshpass -pZt8kq2LmW9pXv4r rsync -a a/ b/"],
)
def test_sshpass_password_in_process_arguments_fails(make_facts, args):
    ps = fixture("systemd/ps-lab.txt") + f" 1000  4242 {args}\n"
    result = run("SEC-03", make_facts(commands=lab_commands(ps=ps)))
    assert_status(result, Status.FAIL)
    assert_value_hidden(result, SECRET)


# ----- world-readable places operators put credentials ----------------------------------------------
# /etc/environment (pam_env, every login), /etc/profile.d/*.sh (every login shell) and the system
# crontabs (/etc/crontab, /etc/cron.d/*, 0644 by default) are readable by every account.
@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/etc/environment", f'PATH="/usr/local/sbin:/usr/bin"\nAWS_SECRET_ACCESS_KEY="{SECRET}"\n'),
        ("/etc/profile.d/app.sh", f"export DB_PASSWORD={SECRET}\n"),
        ("/etc/cron.d/db-dump", f"30 2 * * * root mysqldump -uroot -p{SECRET} shop > /var/backups/shop.sql\n"),
        ("/etc/crontab", f"17 * * * * root PGPASSWORD={SECRET} pg_dump -h db app > /tmp/app.sql\n"),
        ("/etc/cron.d/sync", f"*/5 * * * * deploy sshpass -p {SECRET} rsync -a /srv/ backup:/srv/\n"),
    ],
)
def test_credentials_in_login_and_cron_files_fail(make_facts, path, content):
    result = run("SEC-02", make_facts(commands=lab_commands(), files={path: (content, 0o644)}))
    assert_status(result, Status.FAIL)
    assert path in result.message
    assert_value_hidden(result, SECRET)


def test_stock_login_and_cron_files_pass(make_facts):
    files = {
        "/etc/environment": ('PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n', 0o644),
        "/etc/profile.d/bash_completion.sh": (
            'if [ -n "${BASH_VERSION-}" -a -n "${PS1-}" ]; then\n  . /usr/share/bash-completion/bash_completion\nfi\n',
            0o644,
        ),
        "/etc/cron.d/e2scrub_all": (
            "30 3 * * 0 root test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/e2fsprogs/"
            "e2scrub_all_cron\n",
            0o644,
        ),
        "/etc/crontab": ("SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n", 0o644),
    }
    assert_status(run("SEC-02", make_facts(commands=lab_commands(), files=files)), Status.PASS)


def test_private_cron_file_is_not_scanned(make_facts):
    files = {"/etc/cron.d/db-dump": (f"30 2 * * * root mysqldump -p{SECRET} shop\n", 0o600)}
    assert_status(run("SEC-02", make_facts(commands=lab_commands(), files=files)), Status.NOT_APPLICABLE)
