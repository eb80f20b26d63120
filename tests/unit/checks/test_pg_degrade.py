"""PostgreSQL degrades per item: refused pg_hba lines are findings, valid ones are still judged.

pg_hba_file_rules reads pg_hba.conf from disk; a row with ``error`` is a line the server
refuses (a reload keeps the old rules, a restart fails). pg_settings.pending_restart marks
settings whose value on disk differs from the running one: the checks judge the disk.
"""

from __future__ import annotations

import json

import pytest
from check_helpers import assert_status, run
from test_postgresql import hardened, pg_facts

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.pg_hba import file_rules_and_errors
from ansible_collections.rampart.hardening.plugins.module_utils.probes.postgresql import parse_snapshot

BAD_ROW = {
    "line": 101,
    "type": None,
    "database": None,
    "user": None,
    "address": None,
    "netmask": None,
    "method": None,
    "options": None,
    "error": 'invalid authentication method "scram"',
}
TRUST_ROW = {
    "line": 102,
    "type": "host",
    "database": ["all"],
    "user": ["all"],
    "address": "127.0.0.1",
    "netmask": "255.255.255.255",
    "method": "trust",
    "options": None,
    "error": None,
}


def with_rows(*rows: dict) -> dict:
    snapshot = hardened()
    snapshot["hba"] = [*snapshot["hba"], *rows]
    return snapshot


def test_refused_hba_line_is_a_pg10_finding(make_facts):
    result = run("PG-10", pg_facts(make_facts, with_rows(BAD_ROW)))
    assert_status(result, Status.FAIL)
    assert 'pg_hba line 101: invalid authentication method "scram"' in result.message


@pytest.mark.parametrize("check_id", ["PG-01", "PG-02", "PG-03", "PG-04", "PG-05"])
def test_valid_hba_rows_are_still_judged(make_facts, check_id):
    """One refused line no longer turns the whole pack into errors."""
    assert_status(run(check_id, pg_facts(make_facts, with_rows(BAD_ROW))), Status.PASS)


def test_a_bad_valid_row_next_to_a_refused_one_still_fails(make_facts):
    result = run("PG-02", pg_facts(make_facts, with_rows(BAD_ROW, TRUST_ROW)))
    assert_status(result, Status.FAIL)
    assert "pg_hba line 102" in result.message


def test_pending_restart_is_judged_at_the_value_on_disk(make_facts):
    snapshot = hardened()
    snapshot["pending"] = ["listen_addresses"]
    snapshot["file_settings"] = [
        {"file": "/etc/postgresql/15/main/postgresql.conf", "line": 60, "name": "listen_addresses",
         "setting": "localhost", "error": None},
        {"file": "/etc/postgresql/15/main/conf.d/x.conf", "line": 1, "name": "listen_addresses",
         "setting": "*", "error": "setting could not be applied"},
    ]  # fmt: skip
    facts = pg_facts(make_facts, snapshot)
    pg01 = run("PG-01", facts)
    assert_status(pg01, Status.FAIL)
    assert "*" in pg01.message
    pg10 = run("PG-10", facts)
    assert_status(pg10, Status.PASS)
    assert "listen_addresses: running 'localhost', on disk '*' (pending restart)" in pg10.evidence


def test_refused_setting_is_a_pg10_finding(make_facts):
    snapshot = hardened()
    snapshot["file_settings"] = [
        {"file": "/etc/postgresql/15/main/conf.d/x.conf", "line": 3, "name": "ssl",
         "setting": "perhaps", "error": "setting could not be applied"},
        {"file": "/etc/postgresql/15/main/conf.d/y.conf", "line": 7, "name": None,
         "setting": None, "error": "syntax error"},
    ]  # fmt: skip
    result = run("PG-10", pg_facts(make_facts, snapshot))
    assert_status(result, Status.FAIL)
    assert "/etc/postgresql/15/main/conf.d/x.conf:3: ssl: setting could not be applied" in result.message
    assert any("conf.d/y.conf:7: syntax error" in item for item in result.evidence)


def test_malformed_file_settings_is_an_error_not_a_pass(make_facts):
    snapshot = hardened()
    snapshot["file_settings"] = ["not a row"]
    result = run("PG-10", pg_facts(make_facts, snapshot))
    assert_status(result, Status.ERROR)


def test_file_rules_and_errors_splits_rows():
    rules, errors = file_rules_and_errors([TRUST_ROW, BAD_ROW])
    assert [r.line for r in rules] == [102]
    assert [(e.line, e.error) for e in errors] == [(101, 'invalid authentication method "scram"')]
    with pytest.raises(ParseError):
        file_rules_and_errors(["garbage"])


def test_old_snapshot_without_the_new_keys_still_parses():
    snapshot = hardened()
    pg = parse_snapshot(json.dumps(snapshot))
    assert pg.hba_errors == []
    assert pg.pending == {}
    assert pg.file_errors == []


# ----- the server cannot be asked: the files on disk are judged ------------------------------
SERVER_DOWN = (2, "", 'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed')
CONF = "/etc/postgresql/15/main/postgresql.conf"
HBA = "/etc/postgresql/15/main/pg_hba.conf"


def down_facts(make_facts, conf: str, hba: str, extra: dict | None = None):
    from check_helpers import lab_commands  # noqa: PLC0415
    from test_postgresql import PG_FILES  # noqa: PLC0415

    files = {**PG_FILES, CONF: (conf, 0o640), HBA: (hba, 0o640), **(extra or {})}
    return make_facts(commands=lab_commands(psql=SERVER_DOWN), files=files)


def test_server_down_settings_and_hba_on_disk_are_judged(make_facts):
    conf = "listen_addresses = '*'\t# all\nssl = on\ninclude_dir 'conf.d'\n"
    hba = "local all postgres peer\nhost all all 0.0.0.0/0 trust\nhost all all 10.0.0.0/8 scram\n"
    extra = {"/etc/postgresql/15/main/conf.d/log.conf": "log_connections = on\nlog_disconnections = 'on'\n"}
    facts = down_facts(make_facts, conf, hba, extra)
    pg01 = run("PG-01", facts)
    assert_status(pg01, Status.FAIL)
    assert "*" in pg01.message
    pg02 = run("PG-02", facts)
    assert_status(pg02, Status.FAIL)
    assert "trust" in pg02.message
    pg10 = run("PG-10", facts)
    assert_status(pg10, Status.FAIL)
    assert "pg_hba line 3" in pg10.message
    assert any("judged the files on disk" in item for item in pg10.evidence)
    assert run("PG-08", facts).status is not Status.ERROR  # log settings came from the include_dir


@pytest.mark.parametrize("check_id", ["PG-03", "PG-05", "PG-06"])
def test_server_down_role_checks_are_one_error_each(make_facts, check_id):
    facts = down_facts(make_facts, "listen_addresses = 'localhost'\n", "local all postgres peer\n")
    result = run(check_id, facts)
    assert_status(result, Status.ERROR)
    assert "psql" in result.message
    assert "running server" in result.message


def test_server_down_without_config_files_is_an_error(make_facts):
    from check_helpers import lab_commands  # noqa: PLC0415

    server = {"/usr/lib/postgresql/15/bin/postgres": ("\x7fELF", 0o755)}
    facts = make_facts(commands=lab_commands(psql=SERVER_DOWN), files=server)
    result = run("PG-01", facts)
    assert_status(result, Status.ERROR)
    assert "psql" in result.message


def test_client_only_host_is_not_applicable(make_facts):
    # An app host with postgresql-client (psql) but no server: nothing to judge, not an error.
    from check_helpers import lab_commands  # noqa: PLC0415

    facts = make_facts(commands=lab_commands(psql=SERVER_DOWN), files={"/usr/bin/psql": ("#!/bin/sh\n", 0o755)})
    for check_id in ("PG-01", "PG-05", "PG-10"):
        assert_status(run(check_id, facts), Status.NOT_APPLICABLE)


# ----- pg_hba.conf include directives (PostgreSQL 16) read from disk -------------------------------
# "include", "include_if_exists" and "include_dir" are processed as if the included lines stood
# there; relative names are relative to the including file's directory; include_dir takes the
# *.conf files in C-locale name order (not names starting with "."); a missing "include" file
# is an error (the server refuses pg_hba.conf), a missing "include_if_exists" one is skipped.
HBA_D = "/etc/postgresql/15/main/pg_hba.d"


def test_server_down_hba_include_dir_is_judged(make_facts):
    hba = "local all postgres peer\ninclude_dir pg_hba.d\n"
    extra = {f"{HBA_D}/50-app.conf": "host all all 0.0.0.0/0 trust\n", f"{HBA_D}/10-ok.conf": "local all all peer\n"}
    result = run("PG-02", down_facts(make_facts, "listen_addresses = 'localhost'\n", hba, extra))
    assert_status(result, Status.FAIL)
    assert "trust" in result.message
    assert "50-app.conf" in result.message


@pytest.mark.parametrize(
    "directive",
    ["include 'pg_hba.d/remote.conf'", f"include {HBA_D}/remote.conf", "include_if_exists pg_hba.d/remote.conf"],
)
def test_server_down_hba_include_file_is_judged(make_facts, directive):
    hba = f"local all postgres peer\n{directive}\n"
    extra = {f"{HBA_D}/remote.conf": "hostnossl all all 10.0.0.0/8 scram-sha-256\n"}
    facts = down_facts(make_facts, "listen_addresses = 'localhost'\nssl = on\n", hba, extra)
    assert_status(run("PG-04", facts), Status.FAIL)


def test_server_down_hba_include_dir_ignores_other_files(make_facts):
    hba = "local all postgres peer\ninclude_dir pg_hba.d\n"
    extra = {f"{HBA_D}/README": "host all all 0.0.0.0/0 trust\n", f"{HBA_D}/.hidden.conf": "host all all ::/0 trust\n"}
    facts = down_facts(make_facts, "listen_addresses = 'localhost'\n", hba, extra)
    assert_status(run("PG-02", facts), Status.PASS)
    assert_status(run("PG-10", facts), Status.PASS)


def test_server_down_missing_hba_include_is_refused(make_facts):
    hba = "local all postgres peer\ninclude pg_hba.d/gone.conf\ninclude_if_exists pg_hba.d/optional.conf\n"
    facts = down_facts(make_facts, "listen_addresses = 'localhost'\n", hba)
    result = run("PG-10", facts)
    assert_status(result, Status.FAIL)
    assert "gone.conf" in result.message
    assert "optional.conf" not in result.message


def test_server_down_hba_include_loop_is_refused_not_a_hang(make_facts):
    hba = "local all postgres peer\ninclude pg_hba.conf\n"
    facts = down_facts(make_facts, "listen_addresses = 'localhost'\n", hba)
    assert_status(run("PG-10", facts), Status.FAIL)
    assert_status(run("PG-02", facts), Status.PASS)
