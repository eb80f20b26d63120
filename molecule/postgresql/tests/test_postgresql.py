"""rampart.hardening.postgresql, tested from other hosts with a real psql.

The app host is declared in pg_hba (appdb as app and app_ro); otherdb is open to every
address on purpose (an accepted exception, PG-02); the other host is not declared anywhere.
The converge also proves that the same world-open rule without the acceptance is refused
before any change. Passwords come from the controller's credentials
directory, where the role stored the ones it generated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from labhosts import lab_host, must_run

DB = lab_host("rampart-postgresql-db")
APP = lab_host("rampart-postgresql-app")
OTHER = lab_host("rampart-postgresql-other")
SERVER = "rampart-postgresql-db"
CA = "/etc/ssl/certs/rampart-internal-ca.pem"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
CREDENTIALS = EPHEMERAL / "credentials" / SERVER


def password(user: str) -> str:
    return (CREDENTIALS / f"postgresql_{user}").read_text().strip()


def psql(host, user: str, secret: str | None, sql: str, dbname: str = "appdb", **params: str):
    """Run one statement with psql on ``host``; never prompts (-w)."""
    conninfo = {
        "host": SERVER,
        "port": "5432",
        "dbname": dbname,
        "user": user,
        "sslmode": "verify-full",
        "sslrootcert": CA,
        "connect_timeout": "5",
        **params,
    }
    dsn = " ".join(f"{key}={value}" for key, value in conninfo.items())
    env = f"PGPASSWORD={secret} " if secret is not None else ""
    return host.run(f"{env}psql -w -X -At -v ON_ERROR_STOP=1 %s -c %s", dsn, sql)


def db_sql(sql: str, dbname: str = "postgres") -> str:
    return must_run(DB, "runuser -u postgres -- psql -X -At -d %s -c %s", dbname, sql).strip()


def test_generated_passwords_are_strong_and_private() -> None:
    for user in ("app", "app_ro", "other_owner"):
        path = CREDENTIALS / f"postgresql_{user}"
        assert path.stat().st_mode & 0o777 == 0o600
        secret = password(user)
        assert len(secret) >= 24
        assert secret.isalnum()
    assert CREDENTIALS.stat().st_mode & 0o777 == 0o700
    assert (EPHEMERAL / "ca").stat().st_mode & 0o777 == 0o700
    assert (EPHEMERAL / "ca" / "ca.key").stat().st_mode & 0o777 == 0o600


def test_tls_login_with_the_generated_password_reports_ssl() -> None:
    result = psql(
        APP,
        "app",
        password("app"),
        "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    assert result.rc == 0, result.stderr
    ssl, version = result.stdout.strip().split("|")
    assert ssl == "t"
    assert version in {"TLSv1.2", "TLSv1.3"}


def test_login_without_tls_is_refused() -> None:
    result = psql(APP, "app", password("app"), "SELECT 1", sslmode="disable")
    assert result.rc != 0
    assert "no pg_hba.conf entry" in result.stderr
    assert "no encryption" in result.stderr


def test_tls_older_than_1_2_is_refused() -> None:
    result = psql(APP, "app", password("app"), "SELECT 1", ssl_max_protocol_version="TLSv1.1")
    assert result.rc != 0, result.stdout


def test_wrong_password_is_refused() -> None:
    result = psql(APP, "app", "Wrong-password-0123456789", "SELECT 1")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_app_role_cannot_create_a_database() -> None:
    result = psql(APP, "app", password("app"), "CREATE DATABASE sneaky")
    assert result.rc != 0
    assert "permission denied to create database" in result.stderr


def test_app_role_cannot_reach_another_database() -> None:
    for dbname in ("otherdb", "postgres", "template1"):
        result = psql(APP, "app", password("app"), "SELECT 1", dbname=dbname)
        assert result.rc != 0, dbname
        assert "no pg_hba.conf entry" in result.stderr, result.stderr
    # Even past pg_hba, PUBLIC has no CONNECT on otherdb.
    acl = db_sql("SELECT datacl::text FROM pg_database WHERE datname = 'otherdb'")
    assert not any(entry.startswith("=") for entry in acl.strip("{}").split(","))


def test_app_role_owns_its_database_and_can_work_in_it() -> None:
    sql = "CREATE TABLE IF NOT EXISTS notes (id int); INSERT INTO notes VALUES (1); SELECT count(*) > 0 FROM notes"
    result = psql(APP, "app", password("app"), sql)
    assert result.rc == 0, result.stderr
    assert result.stdout.strip().endswith("t")


def test_readonly_role_reads_but_cannot_write() -> None:
    psql(APP, "app", password("app"), "CREATE TABLE IF NOT EXISTS notes (id int)")
    read = psql(APP, "app_ro", password("app_ro"), "SELECT count(*) FROM notes")
    assert read.rc == 0, read.stderr
    write = psql(APP, "app_ro", password("app_ro"), "INSERT INTO notes VALUES (2)")
    assert write.rc != 0
    assert "permission denied" in write.stderr
    create = psql(APP, "app_ro", password("app_ro"), "CREATE TABLE mine (id int)")
    assert create.rc != 0
    assert "permission denied for schema public" in create.stderr


def test_undeclared_source_is_refused() -> None:
    result = psql(OTHER, "app", password("app"), "SELECT 1")
    assert result.rc != 0
    assert "no pg_hba.conf entry" in result.stderr


def test_postgres_without_password_over_tcp_is_refused() -> None:
    for host in (APP, OTHER):
        for sslmode in ("verify-full", "disable"):
            result = psql(host, "postgres", None, "SELECT 1", dbname="postgres", sslmode=sslmode)
            assert result.rc != 0
            assert "no pg_hba.conf entry" in result.stderr or "no password supplied" in result.stderr


def test_no_md5_hashes_and_scram_for_every_login_role() -> None:
    assert db_sql("SELECT count(*) FROM pg_authid WHERE rolpassword LIKE 'md5%'") == "0"
    rows = db_sql(
        "SELECT rolname || ':' || coalesce(left(rolpassword, 13), '-') FROM pg_authid "
        "WHERE rolcanlogin AND rolname <> 'postgres' ORDER BY 1"
    ).splitlines()
    assert rows == ["app:SCRAM-SHA-256", "app_ro:SCRAM-SHA-256", "other_owner:SCRAM-SHA-256"]


def test_application_roles_are_unprivileged() -> None:
    privileged = db_sql(
        "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles "
        "WHERE (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls) "
        "AND rolname NOT LIKE 'pg\\_%'"
    )
    assert privileged == "postgres"
    owners = db_sql(
        "SELECT string_agg(datname || '=' || pg_get_userbyid(datdba), ',' ORDER BY datname) FROM pg_database"
    )
    assert "appdb=app" in owners
    assert "otherdb=other_owner" in owners
    assert db_sql("SELECT has_schema_privilege('public', 'public', 'CREATE')", dbname="appdb") == "f"


def test_live_settings() -> None:
    settings = dict(
        line.split("|", 1)
        for line in db_sql(
            "SELECT name, setting FROM pg_settings WHERE name IN ('ssl', 'password_encryption', "
            "'ssl_min_protocol_version', 'log_connections', 'log_disconnections', 'listen_addresses', "
            "'ssl_prefer_server_ciphers', 'work_mem', 'log_line_prefix')"
        ).splitlines()
    )
    db_ip = must_run(DB, "hostname -I").split()[0]
    assert settings["ssl"] == "on"
    assert settings["password_encryption"] == "scram-sha-256"
    assert settings["ssl_min_protocol_version"] == "TLSv1.2"
    assert settings["log_connections"] == "on"
    assert settings["log_disconnections"] == "on"
    assert settings["ssl_prefer_server_ciphers"] == "off"
    assert settings["listen_addresses"] == f"127.0.0.1,{db_ip}"
    assert settings["work_mem"] == "8192"
    assert all(part in settings["log_line_prefix"] for part in ("%m", "%u", "%d", "%h"))
    assert db_sql("SELECT count(*) FROM pg_settings WHERE pending_restart") == "0"
    assert db_sql("SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL") == "0"


def test_hba_has_only_peer_and_hostssl_scram() -> None:
    rules = db_sql("SELECT type || ' ' || auth_method FROM pg_hba_file_rules ORDER BY line_number").splitlines()
    assert rules[0] == "local peer"
    assert set(rules[1:]) == {"hostssl scram-sha-256"}
    assert len(rules) == 4


def test_listens_only_on_declared_addresses() -> None:
    listening = must_run(DB, "ss -Htln 'sport = :5432'")
    db_ip = must_run(DB, "hostname -I").split()[0]
    local = sorted(line.split()[3] for line in listening.splitlines())
    assert local == sorted(["127.0.0.1:5432", f"{db_ip}:5432"])


def test_connections_are_logged_with_user_db_and_client() -> None:
    assert psql(APP, "app", password("app"), "SELECT 1").rc == 0
    app_ip = must_run(APP, "hostname -I").split()[0]
    log = must_run(DB, "tail -n 200 /var/log/postgresql/postgresql-15-main.log")
    assert f"user=app db=appdb client={app_ip}" in log
    assert "connection authorized: user=app database=appdb" in log
    assert "disconnection:" in log


@pytest.mark.parametrize(
    ("path", "owner", "mode"),
    [
        ("/var/lib/postgresql/15/main", "postgres", 0o700),
        ("/etc/postgresql/15/main/postgresql.conf", "postgres", 0o640),
        ("/etc/postgresql/15/main/pg_hba.conf", "postgres", 0o640),
        ("/etc/postgresql/15/main/pg_ident.conf", "postgres", 0o640),
        ("/etc/postgresql/15/main/start.conf", "postgres", 0o640),
        ("/etc/postgresql/tls/server.key", "postgres", 0o600),
        ("/etc/postgresql/tls/server.crt", "postgres", 0o644),
        ("/etc/rampart/intent/postgresql.json", "root", 0o600),
        ("/etc/rampart/intent", "root", 0o700),
    ],
)
def test_file_modes(path: str, owner: str, mode: int) -> None:
    item = DB.file(path)
    assert item.exists, path
    assert item.user == owner
    assert item.mode == mode


def test_server_certificate_comes_from_the_internal_ca_and_key_stays_on_host() -> None:
    must_run(DB, "openssl verify -CAfile /etc/postgresql/tls/ca.crt /etc/postgresql/tls/server.crt")
    sans = must_run(DB, "openssl x509 -in /etc/postgresql/tls/server.crt -noout -ext subjectAltName")
    assert f"DNS:{SERVER}" in sans
    assert not list(EPHEMERAL.rglob("server.key"))


def test_intent_file_describes_what_was_declared() -> None:
    intent = json.loads(DB.file("/etc/rampart/intent/postgresql.json").content_string)
    app_ip = must_run(APP, "hostname -I").split()[0]
    assert intent["port"] == 5432
    assert intent["password_encryption"] == "scram-sha-256"
    assert intent["tls"]["enabled"] is True
    assert intent["tls"]["min_protocol_version"] == "TLSv1.2"
    assert "127.0.0.1" in intent["listen_addresses"]
    remote = intent["hba"]["remote"]
    assert {(e["database"], e["user"], e["type"], e["method"]) for e in remote} == {
        ("appdb", "app", "hostssl", "scram-sha-256"),
        ("appdb", "app_ro", "hostssl", "scram-sha-256"),
        ("otherdb", "other_owner", "hostssl", "scram-sha-256"),
    }
    assert all(e["source"].startswith(app_ip) for e in remote if e["database"] == "appdb")
    assert [e["source"] for e in remote if e["database"] == "otherdb"] == ["0.0.0.0/0"]
    assert intent["accepted_exceptions"] == {"PG-02": {"reason": "otherdb is a public demo database"}}


def test_accepted_world_open_rule_admits_an_undeclared_host_over_tls_only() -> None:
    # The accepted exception was really applied: the other host, declared nowhere, gets in
    # to otherdb (with its password, over TLS) but still not to appdb.
    ok = psql(OTHER, "other_owner", password("other_owner"), "SELECT current_user", dbname="otherdb")
    assert ok.rc == 0, ok.stderr
    assert ok.stdout.strip() == "other_owner"
    clear = psql(OTHER, "other_owner", password("other_owner"), "SELECT 1", dbname="otherdb", sslmode="disable")
    assert clear.rc != 0
    assert "no pg_hba.conf entry" in clear.stderr


def test_audit_lists_the_world_open_rule_as_an_accepted_exception_not_a_pass() -> None:
    finding = json.loads((EPHEMERAL / "pg02-finding.json").read_text())
    assert finding["status"] == "not_applicable"
    assert "accepted exception" in finding["message"]
    assert "otherdb is a public demo database" in finding["message"]
    assert any("otherdb other_owner 0.0.0.0/0" in item for item in finding["evidence"])


def test_no_generated_password_in_the_ansible_output() -> None:
    log = (EPHEMERAL / "ansible.log").read_text()
    # The runs really were verbose (-v prints result details) and the secret tasks hid theirs.
    assert "Create the login roles" in log
    assert "the output has been hidden due to the fact that" in log
    for user in ("app", "app_ro", "other_owner"):
        assert password(user) not in log, f"the password of {user} leaked into the ansible log"
