"""PostgreSQL facts from two psql sessions as the postgres OS user (peer authentication).

1. one query returning a JSON document: settings, pg_hba_file_rules, role attributes
   (password hashes are classified in SQL and never leave the server), databases,
   settings waiting for a restart and configuration file lines the server refuses;
2. one psql with ``-c '\\c db' -c <query>`` pairs: per-database PUBLIC privileges.

Degrades per item: pg_hba rows with an ``error`` become ``hba_errors`` (PG-10) while the
valid rows are still judged; a setting whose value in the files differs and waits for a
restart (``pending_restart``) is judged at its value on disk, what the next restart loads.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.pg_hba import (
    HbaError,
    HbaRule,
    file_rules_and_errors,
    include_directive,
    parse_hba_line,
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
   'allow_connections', datallowconn) ORDER BY datname) FROM pg_database WHERE NOT datistemplate),
 'pending', (SELECT json_agg(name ORDER BY name) FROM pg_settings WHERE pending_restart),
 'file_settings', (SELECT json_agg(json_build_object('file', sourcefile, 'line', sourceline, 'name', name,
   'setting', setting, 'error', error) ORDER BY seqno) FROM pg_file_settings
   WHERE error IS NOT NULL OR name IN (SELECT name FROM pg_settings WHERE pending_restart))
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
    hba_errors: list[HbaError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)  # postgresql.conf lines the server refuses
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (running, on disk)
    source: str = "psql"  # or "files on disk" when the server could not be asked
    server_error: str | None = None

    @property
    def major(self) -> int:
        return self.version_num // 10000  # 150020 -> 15; 90624 -> 9 (every 9.x is long unsupported)

    def setting(self, name: str) -> str:
        return self.settings.get(name, "")


SERVER_BINARIES = "/usr/lib/postgresql/*/bin/postgres"


def present(facts: Facts) -> bool:
    """A PostgreSQL server is installed (its binary or its configuration), not only the psql client."""
    return bool(facts.glob(SERVER_BINARIES)) or bool(facts.glob(CONFIG_GLOBS[0]))


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
    hba, hba_errors = file_rules_and_errors(raw.get("hba") or [])
    settings = {k: str(v) for k, v in raw["settings"].items()}
    pending, file_errors = _file_settings(raw, settings)
    for name, (_unused, on_disk) in pending.items():
        if name in settings:
            settings[name] = on_disk  # judge what the next restart loads
    return PgFacts(
        version_num=int(raw.get("version_num") or 0),
        settings=settings,
        hba=hba,
        roles=roles,
        databases=list(raw.get("databases") or []),
        hba_errors=hba_errors,
        file_errors=file_errors,
        pending=pending,
    )


def _file_settings(raw: dict[str, Any], settings: dict[str, str]) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """(pending restarts: name -> (running, on disk), refused configuration lines) from the snapshot."""
    pending_names = {str(name) for name in raw.get("pending") or []}
    pending: dict[str, tuple[str, str]] = {}
    errors: list[str] = []
    for row in raw.get("file_settings") or []:
        if not isinstance(row, dict):
            raise ParseError(f"unexpected pg_file_settings row {row!r:.60}")
        name, where = row.get("name"), f"{row.get('file')}:{row.get('line')}"
        if name in pending_names and row.get("setting") is not None:
            pending[str(name)] = (settings.get(str(name), "?"), str(row["setting"]))  # last row wins
        elif row.get("error"):
            errors.append(f"{where}: {f'{name}: ' if name else ''}{row['error']}")
    return pending, errors


def parse_privileges(text: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise ParseError(f"unexpected psql output {line[:60]!r}") from exc
    return rows


class Unreadable(list):
    """Stands for facts only a running server can give: reading it raises ProbeError (one error per check)."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def __iter__(self) -> Iterator[Any]:
        raise ProbeError(self.reason)

    def __len__(self) -> int:
        raise ProbeError(self.reason)

    def __bool__(self) -> bool:
        raise ProbeError(self.reason)


# PostgreSQL's own defaults for the settings the checks judge (used when reading the files on disk).
DISK_DEFAULTS = {
    "listen_addresses": "localhost",
    "port": "5432",
    "password_encryption": "scram-sha-256",
    "ssl": "off",
    "ssl_min_protocol_version": "TLSv1.2",
    "log_connections": "off",
    "log_disconnections": "off",
    "log_line_prefix": "%m [%p] ",
}
CONF_LINE = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.]*)\s*=?\s*(?P<value>'(?:[^'\\]|\\.|'')*'|[^#\s]+)?")
MAX_CONF_FILES = 50
MAX_HBA_DEPTH = 10  # PostgreSQL's CONF_FILE_MAX_DEPTH


def _conf_value(raw: str | None) -> str:
    if raw is None:
        return ""
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        return raw[1:-1].replace("''", "'").replace("\\'", "'")
    return raw


def read_conf(facts: Facts, path: str, settings: dict[str, str], errors: list[str], depth: int = 0) -> None:
    """postgresql.conf and its include/include_dir/include_if_exists files -> settings (last one wins)."""
    text = facts.read_text(path)
    if text is None:
        errors.append(f"{path}: missing")
        return
    directory = posixpath.dirname(path)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = CONF_LINE.match(line)
        if match is None:
            errors.append(f"{path}:{number}: syntax error")
            continue
        name, value = match.group("name").lower(), _conf_value(match.group("value"))
        if name in ("include", "include_if_exists", "include_dir"):
            if depth >= 10:
                errors.append(f"{path}:{number}: includes nested too deep")
                continue
            target = value if value.startswith("/") else posixpath.join(directory, value)
            paths = sorted(facts.glob(f"{target}/*.conf")) if name == "include_dir" else [target]
            for included in paths:
                if name != "include_if_exists" or facts.read_text(included) is not None:
                    read_conf(facts, included, settings, errors, depth + 1)
        else:
            settings[name] = value


def _hba_from_disk(facts: Facts, path: str) -> tuple[list[HbaRule], list[HbaError]]:
    text = facts.read_text(path)
    if text is None:
        return [], [HbaError(0, f"{path} is missing")]
    rules: list[HbaRule] = []
    errors: list[HbaError] = []
    _hba_lines(facts, text, (path,), rules, errors)
    return rules, errors


def _hba_lines(facts: Facts, text: str, chain: tuple[str, ...], rules: list[HbaRule], errors: list[HbaError]) -> None:
    """The rules of one pg_hba file, included files expanded where their directive stands.

    PostgreSQL 16 semantics: relative names are relative to the including file's directory;
    include_dir takes the *.conf files (not dot files) in name order; a missing ``include``
    file (or directory) is an error, a missing ``include_if_exists`` one is skipped.
    """
    path = chain[-1]
    label = "" if len(chain) == 1 else path  # rules of pg_hba.conf itself keep their plain evidence
    for number, line in enumerate(text.splitlines(), 1):
        try:
            include = include_directive(line, number)
            rule = None if include else parse_hba_line(line, number)
        except ParseError as exc:
            errors.append(HbaError(number, str(exc).split(": ", 1)[-1], label))
            continue
        if rule is not None:
            rules.append(dataclasses.replace(rule, file=label) if label else rule)
        elif include is not None:
            _hba_include(facts, include, chain, number, rules=rules, errors=errors)


def _hba_include(
    facts: Facts,
    include: tuple[str, str],
    chain: tuple[str, ...],
    number: int,
    *,
    rules: list[HbaRule],
    errors: list[HbaError],
) -> None:
    keyword, name = include
    label = "" if len(chain) == 1 else chain[-1]
    target = name if name.startswith("/") else posixpath.join(posixpath.dirname(chain[-1]), name)
    if len(chain) > MAX_HBA_DEPTH:
        errors.append(HbaError(number, f"{keyword} {name}: nested too deep (a loop?)", label))
        return
    if keyword == "include_dir":
        if facts.stat(target) is None:
            errors.append(HbaError(number, f"could not open directory {target}", label))
            return
        paths = [p for p in facts.glob(f"{target}/*.conf") if not posixpath.basename(p).startswith(".")]
    else:
        paths = [target]
    for included in paths:
        if included in chain:
            errors.append(HbaError(number, f"{keyword} {name}: includes itself", label))
            continue
        text = facts.read_text(included)
        if text is None:
            if keyword != "include_if_exists":
                errors.append(HbaError(number, f"could not open file {included}", label))
            continue
        _hba_lines(facts, text, (*chain, included), rules, errors)


def from_disk(facts: Facts, reason: str) -> PgFacts | None:
    """The configuration files on disk when the server cannot be asked (what its next start loads).

    Settings and pg_hba are judged; roles, databases and privileges need the server, so the
    checks that read them report ``error`` with ``reason``.
    """
    configs = facts.glob(CONFIG_GLOBS[0])
    if not configs:
        return None
    config = configs[-1]  # the newest cluster: /etc/postgresql/<major>/<cluster>/postgresql.conf
    settings = dict(DISK_DEFAULTS, config_file=config)
    errors: list[str] = []
    read_conf(facts, config, settings, errors)
    directory = posixpath.dirname(config)
    settings.setdefault("hba_file", posixpath.join(directory, "pg_hba.conf"))
    settings.setdefault("ident_file", posixpath.join(directory, "pg_ident.conf"))
    major = config.split("/")[3] if config.count("/") >= 5 else ""
    settings.setdefault("data_directory", f"/var/lib/postgresql/{major}/main" if major else "")
    hba, hba_errors = _hba_from_disk(facts, settings["hba_file"])
    unreadable = f"{reason}; judged the files on disk, but this needs a running server"
    return PgFacts(
        version_num=int(major) * 10000 if major.isdigit() else 0,
        settings=settings,
        hba=hba,
        roles=Unreadable(unreadable),
        databases=Unreadable(unreadable),
        privileges=Unreadable(unreadable),
        hba_errors=hba_errors,
        file_errors=errors,
        source="files on disk",
        server_error=reason,
    )


def _probe(facts: Facts) -> PgFacts | None:
    if not present(facts):
        return None
    try:
        raw = _psql(facts, "-c", SNAPSHOT_SQL)
    except ProbeError as exc:  # the server is down or refuses us: judge what its next start loads
        disk = from_disk(facts, str(exc))
        if disk is None:
            raise
        return disk
    try:
        snapshot = parse_snapshot(raw)
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
