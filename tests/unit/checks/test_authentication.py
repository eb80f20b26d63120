"""AUTH-01..02: admin locations and htpasswd files."""

from __future__ import annotations

import pytest
from check_helpers import GARBAGE, HARDENED, assert_status, lab_commands, nginx_facts, replace, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

HTPASSWD = "/etc/nginx/rampart/htpasswd"
SHA512 = (
    "admin:$6$Pz3H2c0tXwYw5qTb$Jt9F2lD8a0f2o7VvBq3b6mS7n1mQqkzA0c3tO2fQ0bq0Fv0s9r2yZl1pQ7mT5u6w8x9yZ0a1b2c3d4e5f6g7h8\n"
)
GOOD_FILE = {HTPASSWD: (SHA512, 0o640)}


def facts_with(make_facts, text=HARDENED, files=None):
    return nginx_facts(make_facts, text=text, files={**GOOD_FILE, **(files or {})})


@pytest.mark.parametrize("check_id", ["AUTH-01", "AUTH-02"])
def test_hardened_lab_passes(make_facts, check_id):
    assert_status(run(check_id, facts_with(make_facts)), Status.PASS)


@pytest.mark.parametrize("check_id", ["AUTH-01", "AUTH-02"])
def test_absent_nginx_not_applicable_and_garbage_error(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands(nginx=None))), Status.NOT_APPLICABLE)
    assert_status(run(check_id, facts_with(make_facts, text=GARBAGE)), Status.ERROR)


def test_admin_without_auth_fails(make_facts):
    text = replace('auth_basic "Restricted";\n\t\tauth_basic_user_file /etc/nginx/rampart/htpasswd;', "")(HARDENED)
    result = run("AUTH-01", facts_with(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "/admin/" in result.message


def test_ip_allowlist_only_is_partial(make_facts):
    text = replace(
        'auth_basic "Restricted";\n\t\tauth_basic_user_file /etc/nginx/rampart/htpasswd;',
        "allow 10.0.0.0/8;\n\t\tdeny all;",
    )(HARDENED)
    assert_status(run("AUTH-01", facts_with(make_facts, text=text)), Status.PARTIAL)


def test_declared_admin_path_missing_fails(make_facts):
    intent = '{"sites": [{"locations": [{"path": "/backoffice/", "class": "admin", "auth_group": "ops"}]}]}'
    facts = facts_with(make_facts, files={"/etc/rampart/intent/nginx.json": intent})
    result = run("AUTH-01", facts)
    assert_status(result, Status.FAIL)
    assert "/backoffice/" in result.message


def test_no_admin_location_is_not_applicable(make_facts):
    text = replace("location /admin/ {", "location /about/ {")(HARDENED)
    assert_status(run("AUTH-01", facts_with(make_facts, text=text)), Status.NOT_APPLICABLE)


@pytest.mark.parametrize(
    ("content", "mode", "expected", "needle"),
    [
        ("admin:$apr1$abc$0123456789abcdefghijkl\n", 0o640, Status.FAIL, "md5-apr1"),
        ("admin:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", 0o640, Status.FAIL, "sha1"),
        ("admin:plaintextpassword\n", 0o640, Status.FAIL, "plain"),
        ("admin:$2y$05$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234\n", 0o640, Status.PASS, ""),
        (SHA512, 0o644, Status.FAIL, "0644"),
        ("garbage line without colon\n", 0o640, Status.ERROR, "htpasswd"),
    ],
)
def test_htpasswd_files(make_facts, content, mode, expected, needle):
    result = run("AUTH-02", facts_with(make_facts, files={HTPASSWD: (content, mode)}))
    assert_status(result, expected)
    assert needle in result.message + " ".join(result.evidence)


def test_missing_htpasswd_file_fails(make_facts):
    result = run("AUTH-02", nginx_facts(make_facts))
    assert_status(result, Status.FAIL)
    assert "does not exist" in result.message
