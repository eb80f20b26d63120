"""PostgreSQL facts from two psql sessions as the postgres OS user (peer authentication).

1. one query returning a JSON document: settings, pg_hba_file_rules, role attributes
   (password hashes are classified in SQL and never leave the server), databases;
2. one psql with ``-c '\\c db' -c <query>`` pairs: per-database PUBLIC privileges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.pg_hba import (
    HbaRule,
    from_file_rules,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import first_line

SETTINGS = (
    "listen_addresses",
    "port",
    "password_encryption",
    "ssl",
    "ssl_min_protocol_version",
    "log_connections",
    "log_disconnections",
    "log_line_prefix",
    "data_directory",
    "config_file",
    "hba_file",
    "ident_file",
    "ssl_cert_file",
    "ssl_key_file",
    "server_version",
)
_SETTINGS_SQL = ",".join(f"'{name}'" for name in SETTINGS)
SNAPSHOT_SQL = f"""SELECT json_build_object(
 'version_num', current_setting('server_version_num'),
 'settings', (SELECT json_object_agg(name, setting) FROM pg_settings WHERE name IN ({_SETTINGS_SQL})),
 'hba', (SELECT json_agg(json_build_object('line', line_number, 'type', type, 'database', database,
   'user', user_name, 'address', address, 'netmask', netmask, 'method', auth_method, 'options', options,
   'error', error) ORDER BY line_number) FROM pg_hba_file_rules),
 'roles', (SELECT json_agg(json_build_object('name', rolname, 'super', rolsuper, 'createrole', rolcreaterole,
   'createdb', rolcreatedb, 'login', rolcanlogin, 'replication', rolreplication, 'password',
   CASE WHEN rolpassword IS NULL THEN 'none' WHEN rolpassword LIKE 'md5%' THEN 'md5'
   WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256' ELSE 'other' END) ORDER BY rolname)
   FROM pg_authid WHERE rolname NOT LIKE 'pg\\_%'),
 'databases', (SELECT json_agg(json_build_object('name', datname, 'owner', pg_get_userbyid(datdba),
   'allow_connections', datallowconn) ORDER BY datname) FROM pg_database WHERE NOT datistemplate)
)"""
PRIVILEGES_SQL = (
    "SELECT json_build_object('database', current_database(), "
    "'public_create', has_schema_privilege('public', 'public', 'CREATE'), "
    "'public_grants', (SELECT json_agg(DISTINCT table_schema || '.' || table_name) "
    "FROM information_schema.role_table_grants WHERE grantee = 'PUBLIC' "
    "AND table_schema NOT IN ('pg_catalog', 'information_schema')))"
)
PSQL = ("runuser", "-u", "postgres", "--", "psql", "-XAtq")
CONFIG_GLOBS = ("/etc/postgresql/*/*/postgresql.conf",)


@dataclass
class Role:
    name: str
    superuser: bool
    createrole: bool
    createdb: bool
    login: bool
    password: str  # none | md5 | scram-sha-256 | other


@dataclass
class PgFacts:
    version_num: int
    settings: dict[str, str]
    hba: list[HbaRule]
    roles: list[Role]
    databases: list[dict[str, Any]]
    privileges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def major(self) -> int:
        return self.version_num // 10000  # 150020 -> 15; 90624 -> 9 (every 9.x is long unsupported)

    def setting(self, name: str) -> str:
        return self.settings.get(name, "")


def present(facts: Facts) -> bool:
    return facts.which("psql") or bool(facts.glob(CONFIG_GLOBS[0]))


def _psql(facts: Facts, *args: str) -> str:
    out = facts.run((*PSQL, *args))
    if out.rc != 0:
        raise ProbeError(f"psql as postgres failed (rc {out.rc}): {first_line(out.stderr) or 'no output'}")
    return out.stdout


def parse_snapshot(text: str) -> PgFacts:
    """The snapshot query's JSON -> PgFacts (ParseError on anything else)."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ParseError(f"psql snapshot is not JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("settings"), dict):
        raise ParseError("psql snapshot lacks 'settings'")
    roles = [
        Role(r["name"], bool(r["super"]), bool(r["createrole"]), bool(r["createdb"]), bool(r["login"]), r["password"])
        for r in raw.get("roles") or []
    ]
    return PgFacts(
        version_num=int(raw.get("version_num") or 0),
        settings={k: str(v) for k, v in raw["settings"].items()},
        hba=from_file_rules(raw.get("hba") or []),
        roles=roles,
        databases=list(raw.get("databases") or []),
    )


def parse_privileges(text: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise ParseError(f"unexpected psql output {line[:60]!r}") from exc
    return rows


def _probe(facts: Facts) -> PgFacts | None:
    if not present(facts):
        return None
    try:
        snapshot = parse_snapshot(_psql(facts, "-c", SNAPSHOT_SQL))
        args: list[str] = []
        for database in snapshot.databases:
            if database.get("allow_connections", True):
                args += ["-c", f"\\c {database['name']}", "-c", PRIVILEGES_SQL]
        if args:
            snapshot.privileges = parse_privileges(_psql(facts, *args))
    except ParseError as exc:
        raise ProbeError(f"cannot parse psql output: {exc}") from exc
    return snapshot


def postgresql(facts: Facts) -> PgFacts | None:
    """PostgreSQL facts, or None when PostgreSQL is not installed."""
    return facts.cached("postgresql", lambda: _probe(facts))
