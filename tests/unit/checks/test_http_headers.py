"""HDR-01..06: effective add_header sets per serving location."""

from __future__ import annotations

import pytest
from check_helpers import GARBAGE, HARDENED, STOCK, assert_status, lab_commands, nginx_facts, replace, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

HDR_IDS = [f"HDR-{n:02d}" for n in range(1, 7)]
HEADERS_FILE = "\tinclude /etc/nginx/rampart/security-headers.conf;\n"


@pytest.mark.parametrize("check_id", HDR_IDS)
def test_hardened_lab_passes(make_facts, check_id):
    assert_status(run(check_id, nginx_facts(make_facts)), Status.PASS)


@pytest.mark.parametrize("check_id", HDR_IDS)
def test_absent_nginx_not_applicable_and_garbage_error(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands(nginx=None))), Status.NOT_APPLICABLE)
    assert_status(run(check_id, nginx_facts(make_facts, text=GARBAGE)), Status.ERROR)


@pytest.mark.parametrize("check_id", ["HDR-01", "HDR-02", "HDR-03", "HDR-04"])
def test_headers_missing_fail(make_facts, check_id):
    result = run(check_id, nginx_facts(make_facts, text=replace(HEADERS_FILE, "")(HARDENED)))
    assert_status(result, Status.FAIL)


@pytest.mark.parametrize("check_id", ["HDR-01", "HDR-02", "HDR-03", "HDR-04"])
def test_location_add_header_drops_inherited_headers(make_facts, check_id):
    """nginx: one add_header in a location replaces the whole inherited set."""
    text = replace("location = /login {", 'location = /login {\n\t\tadd_header Cache-Control "no-store";')(HARDENED)
    result = run(check_id, nginx_facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "location = /login" in result.message


@pytest.mark.parametrize(
    ("check_id", "old", "new", "expected"),
    [
        ("HDR-01", "max-age=63072000", "max-age=31536000", Status.PARTIAL),
        ("HDR-01", "max-age=63072000", "max-age=3600", Status.FAIL),
        ("HDR-01", 'max-age=63072000" always', 'max-age=63072000"', Status.PARTIAL),
        ("HDR-02", '"nosniff"', '"sniff-away"', Status.FAIL),
        ("HDR-03", "\"default-src 'self'; frame-ancestors 'none'\"", "\"default-src 'self'\"", Status.PASS),
        (
            "HDR-04",
            "add_header Content-Security-Policy",
            "add_header Content-Security-Policy-Report-Only",
            Status.PARTIAL,
        ),
        ("HDR-04", 'add_header Referrer-Policy "strict-origin-when-cross-origin" always;', "", Status.FAIL),
        ("HDR-05", "proxy_cookie_flags ~ secure httponly samesite=strict;", "", Status.PARTIAL),
    ],
)
def test_header_values(make_facts, check_id, old, new, expected):
    facts = nginx_facts(make_facts, text=replace(old, new)(HARDENED))
    assert_status(run(check_id, facts), expected)


def test_framing_without_any_protection_fails(make_facts):
    text = replace('add_header X-Frame-Options "DENY" always;', "")(HARDENED)
    text = replace("; frame-ancestors 'none'", "")(text)
    assert_status(run("HDR-03", nginx_facts(make_facts, text=text)), Status.FAIL)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            'add_header Access-Control-Allow-Origin "*" always;\nadd_header Access-Control-Allow-Credentials "true";',
            Status.FAIL,
        ),
        ("add_header Access-Control-Allow-Origin $http_origin always;", Status.FAIL),
        ('add_header Access-Control-Allow-Origin "*" always;', Status.PARTIAL),
        ("add_header Access-Control-Allow-Origin $cors_origin always;", Status.PASS),
    ],
)
def test_cors(make_facts, headers, expected):
    text = HARDENED + "\n" + headers + "\n"  # appended to the included headers file
    assert_status(run("HDR-06", nginx_facts(make_facts, text=text)), expected)


def test_set_cookie_without_flags_fails(make_facts):
    text = HARDENED + '\nadd_header Set-Cookie "sid=1; Path=/" always;\n'
    result = run("HDR-05", nginx_facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "secure" in result.message


def test_stock_debian_has_no_headers(make_facts):
    facts = nginx_facts(make_facts, text=STOCK)
    assert_status(run("HDR-01", facts), Status.NOT_APPLICABLE)  # no TLS server
    assert_status(run("HDR-02", facts), Status.FAIL)
    assert_status(run("HDR-05", facts), Status.NOT_APPLICABLE)  # nothing proxied
