"""PostgreSQL settings read from postgresql.conf on disk (server down): every spelling the server accepts.

A running server shows booleans as ``on``/``off`` and enums in their canonical case; the file holds
what the operator wrote. PostgreSQL's parse_bool takes ``on``/``off``, ``true``/``false``, ``yes``/``no``
(any case, any unique prefix: ``t``, ``fal``, ``of``) and exactly ``1``/``0``; enum values match
case-insensitively (``TLSv1.2`` = ``tlsv1.2``). PG 18's list-valued log_connections takes ``all``.
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, run
from test_pg_degrade import down_facts

from ansible_collections.rampart.hardening.plugins.module_utils.checks.postgresql import pg_bool
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

REMOTE_HBA = "local all postgres peer\nhostssl app app 10.0.0.0/8 scram-sha-256\n"
LOGGED = "log_connections = on\nlog_disconnections = on\n"


@pytest.mark.parametrize("value", ["on", "true", "1", "yes", "'on'", "ON", "True", "'TRUE'", "t", "y"])
def test_ssl_on_in_any_spelling_passes(make_facts, value):
    conf = f"ssl = {value}\nssl_min_protocol_version = 'TLSv1.2'\n"
    assert_status(run("PG-04", down_facts(make_facts, conf, REMOTE_HBA)), Status.PASS)


@pytest.mark.parametrize("value", ["off", "false", "0", "no", "'off'", "OFF", "of", "f", "'maybe'", "''"])
def test_ssl_off_or_unreadable_fails(make_facts, value):
    conf = f"ssl = {value}\nssl_min_protocol_version = 'TLSv1.2'\n"
    result = run("PG-04", down_facts(make_facts, conf, REMOTE_HBA))
    assert_status(result, Status.FAIL)
    assert "ssl =" in result.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("'tlsv1.2'", Status.PASS), ("TLSV1.3", Status.PASS), ("'tlsv1.1'", Status.FAIL), ("'TLSv1'", Status.FAIL)],
)
def test_tls_minimum_matches_in_any_case(make_facts, value, expected):
    conf = f"ssl = on\nssl_min_protocol_version = {value}\n"
    assert_status(run("PG-04", down_facts(make_facts, conf, REMOTE_HBA)), expected)


@pytest.mark.parametrize(
    "conf",
    [
        "log_connections = true\nlog_disconnections = yes\n",
        "log_connections = 1\nlog_disconnections = 'ON'\n",
        "log_connections = 'all'\nlog_disconnections = on\n",  # PG 18 list GUC
        "log_connections = 'receipt,authentication,authorization'\nlog_disconnections = on\n",
    ],
)
def test_connection_logging_in_any_spelling_passes(make_facts, conf):
    conf += "log_line_prefix = '%m [%p] %q%u@%d %r '\n"
    hba = "local all postgres peer\n"
    assert_status(run("PG-08", down_facts(make_facts, conf, hba)), Status.PASS)


@pytest.mark.parametrize(
    "conf",
    [
        "log_connections = false\nlog_disconnections = on\n",
        "log_connections = 'receipt'\nlog_disconnections = on\n",  # PG 18: authorizations not logged
        "log_connections = on\nlog_disconnections = 0\n",
        "log_connections = on\nlog_disconnections = 'nope'\n",
    ],
)
def test_connection_logging_off_fails(make_facts, conf):
    conf += "log_line_prefix = '%m [%p] %q%u@%d %r '\n"
    assert_status(run("PG-08", down_facts(make_facts, conf, "local all postgres peer\n")), Status.FAIL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on", True),
        ("ON", True),
        ("tru", True),
        ("Yes", True),
        ("1", True),
        ("off", False),
        ("of", False),
        ("FALSE", False),
        ("n", False),
        ("0", False),
        ("o", None),  # ambiguous: on or off
        ("10", None),
        ("", None),
        ("enabled", None),
        ("truex", None),
    ],
)
def test_pg_bool_reads_like_parse_bool(text, expected):
    assert pg_bool(text) is expected


# ----- pg_hba address keywords: hba.c matches all/samehost/samenet only unquoted and in lower case ------
# (token_is_keyword: !quoted && strcmp). "all", ALL or "samehost" is a host name resolved in DNS.
LOCAL = "local all postgres peer\n"
TLS_ON = "ssl = on\nssl_min_protocol_version = 'TLSv1.2'\n"


@pytest.mark.parametrize("address", ['"all"', "ALL", "All", '"samenet"'])
def test_keyword_spelled_as_a_host_name_is_not_world_open(make_facts, address):
    hba = f"{LOCAL}hostssl app app {address} scram-sha-256\n"
    result = run("PG-02", down_facts(make_facts, TLS_ON, hba))
    assert_status(result, Status.PASS)
    assert any(address in line for line in result.evidence)


def test_unquoted_all_is_still_world_open(make_facts):
    hba = f"{LOCAL}hostssl app app all scram-sha-256\n"
    assert_status(run("PG-02", down_facts(make_facts, TLS_ON, hba)), Status.FAIL)


@pytest.mark.parametrize("address", ['"samehost"', "SameHost", "SAMEHOST"])
def test_samehost_spelled_as_a_host_name_is_remote(make_facts, address):
    hba = f"{LOCAL}host app app {address} scram-sha-256\n"
    result = run("PG-04", down_facts(make_facts, TLS_ON, hba))
    assert_status(result, Status.FAIL)
    assert "non-TLS" in result.message


def test_samehost_keyword_is_this_host(make_facts):
    hba = f"{LOCAL}host app app samehost scram-sha-256\n"
    assert_status(run("PG-04", down_facts(make_facts, TLS_ON, hba)), Status.PASS)


@pytest.mark.parametrize("line", ["HOST all all 10.0.0.0/8 scram-sha-256", "host all all 10.0.0.0/8 Trust"])
def test_keywords_in_another_case_are_refused_lines(make_facts, line):
    """hba.c compares connection types and methods with strcmp: the server refuses the line (PG-10)."""
    result = run("PG-10", down_facts(make_facts, TLS_ON, f"{LOCAL}{line}\n"))
    assert_status(result, Status.FAIL)
    assert "pg_hba line 2" in result.message


def test_unbalanced_quote_in_address_is_a_refused_line(make_facts):
    result = run("PG-10", down_facts(make_facts, TLS_ON, f'{LOCAL}host app app "all scram-sha-256\n'))
    assert_status(result, Status.FAIL)
