"""PostgreSQL pack (PG-01..10), from one psql snapshot plus per-database privileges."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from datetime import date

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import as_list, judge
from ansible_collections.rampart.hardening.plugins.module_utils.exposure import (
    accepted_result,
    merged_exception,
    split_accepted,
    wildcard_bind,
    world_open,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.pg_hba import HbaRule
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent, now
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import describe
from ansible_collections.rampart.hardening.plugins.module_utils.probes.postgresql import PgFacts, postgresql
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

CIS_PG = "CIS PostgreSQL 15 Benchmark v1.1.0"
PG_DOCS = "https://www.postgresql.org/docs/current"
# Community support end dates (https://www.postgresql.org/support/versioning/).
END_OF_LIFE = {
    11: date(2023, 11, 9),
    12: date(2024, 11, 21),
    13: date(2025, 11, 13),
    14: date(2026, 11, 12),
    15: date(2027, 11, 11),
    16: date(2028, 11, 9),
    17: date(2029, 11, 8),
    18: date(2030, 11, 14),
}
LOOPBACK_LISTEN = {"localhost", "127.0.0.1", "::1", ""}
SYSTEM_DATABASES = {"postgres", "template0", "template1"}
TLS_VERSIONS = ("tlsv1.2", "tlsv1.3")  # enum values match case-insensitively (config_enum_lookup_by_name)
# PG 18 turned log_connections into a list; "on" stands for these three aspects.
CONNECTION_ASPECTS = frozenset({"receipt", "authentication", "authorization"})


def pg_bool(value: str) -> bool | None:
    """A boolean setting as PostgreSQL's parse_bool reads it, None when the server would refuse it.

    Case-insensitive ``true``/``false``/``yes``/``no`` and any prefix of them (``t``, ``fal``),
    ``on``/``off`` (``of``; at least two letters), and exactly ``1``/``0``. A running server
    shows ``on``/``off``; postgresql.conf read from disk (server down, or a pending restart)
    holds whatever the operator wrote.
    """
    text = value.lower()
    if not text:
        return None
    for word, meaning in (("true", True), ("false", False), ("yes", True), ("no", False)):
        if word.startswith(text):
            return meaning
    if len(text) >= 2 and "on".startswith(text):
        return True
    if len(text) >= 2 and "off".startswith(text):
        return False
    return {"1": True, "0": False}.get(text)


def _enabled(pg: PgFacts, name: str) -> bool:
    """The boolean setting ``name`` is on (an unreadable value is not: the server would refuse it)."""
    return pg_bool(pg.setting(name)) is True


def _logs_connections(pg: PgFacts) -> bool:
    """log_connections is on: a boolean spelling, or PG 18's ``all`` / every aspect ``on`` stands for."""
    value = pg.setting("log_connections")
    aspects = {a.strip().lower() for a in value.split(",") if a.strip()}
    return pg_bool(value.strip()) is True or "all" in aspects or aspects >= CONNECTION_ASPECTS


def _pg_or_na(facts: Facts) -> tuple[PgFacts | None, Result | None]:
    pg = postgresql(facts)
    if pg is None:
        return None, not_applicable("PostgreSQL is not installed")
    return pg, None


def _listen(pg: PgFacts) -> list[str]:
    return [a.strip() for a in pg.setting("listen_addresses").split(",") if a.strip()]


@check(
    id="PG-01",
    title="listen_addresses limited to declared addresses",
    category="postgresql",
    severity="high",
    rationale="Listening on every interface exposes the server to any network the host joins.",
    remediation="Set listen_addresses to 'localhost' or the declared private address "
    "(rampart_postgresql_listen_addresses) and restart PostgreSQL.",
    references=(f"{CIS_PG} 3.1.x", f"{PG_DOCS}/runtime-config-connection.html"),
    fix_role="postgresql",
    fix_tag="postgresql_config",
)
def pg_listen(facts: Facts) -> Result:
    """Inspects: listen_addresses vs postgresql intent listen_addresses.

    pass: loopback only, or only declared addresses; partial: undeclared private addresses; fail: wildcard
    without intent, or undeclared addresses when an intent exists.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    addresses = _listen(pg)
    raw = as_list(intent(facts, "postgresql").get("listen_addresses"))
    declared = {part.strip() for item in raw for part in str(item).split(",") if part.strip()}
    seen = [f"listen_addresses = '{pg.setting('listen_addresses')}'"]
    if declared:
        seen.append(f"declared: {', '.join(sorted(declared))}")
        undeclared = [a for a in addresses if a not in declared]
        return judge(
            "listens only on declared addresses", [f"listens on undeclared {a}" for a in undeclared], seen=seen
        )
    # Any spelling of the unspecified address (::0, 0:0:0:0:0:0:0:0) binds every interface like '*'.
    wildcard = [a for a in addresses if a in ("*", "0.0.0.0", "::") or wildcard_bind(a)]
    other = [a for a in addresses if a not in LOOPBACK_LISTEN and a not in wildcard]
    problems = [f"listens on {a} (all interfaces) with no intent allowing it" for a in wildcard]
    minor = [f"listens on {a}, not declared in an intent file" for a in other]
    return judge("listens on loopback only", problems, minor, seen)


@check(
    id="PG-02",
    title="No trust or plaintext password methods in pg_hba; local uses peer",
    category="postgresql",
    severity="critical",
    rationale="'trust' lets anyone who can connect log in as any role; 'password' sends the password in clear.",
    remediation="Replace trust/password with scram-sha-256 (host) or peer (local) in pg_hba.conf, then "
    "'SELECT pg_reload_conf();'.",
    references=(f"{CIS_PG} 4.x", f"{PG_DOCS}/auth-pg-hba-conf.html"),
    fix_role="postgresql",
    fix_tag="postgresql_hba",
)
def pg_hba_methods(facts: Facts) -> Result:
    """Inspects: pg_hba_file_rules (as the server loaded them) and the postgresql intent.

    pass: no trust/password, no remote rule open to the world; partial: local rules not using peer;
    fail: trust or password anywhere, or a remote rule from 0.0.0.0/0, ::/0 or all (any spelling);
    not_applicable: the only deviation is world-open rules the intent declares and accepts
    (accepted_exceptions PG-02: per rule with target hba:<database>/<user>/<source>, or host-wide),
    listed with the reason; a world-open rule no exception names still fails.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    problems = [f"{r.evidence()}: {r.method}" for r in pg.hba if r.method in ("trust", "password")]
    minor = [
        f"{r.evidence()}: local should use peer"
        for r in pg.hba
        if r.type == "local" and r.method not in ("peer", "reject", "trust", "password")
    ]
    declared = _pg_intent_world_rules(facts)
    # A host name spelled like a keyword ("all", ALL) admits the hosts that resolve to it, not the world.
    world = [
        r for r in pg.hba if r.type != "local" and r.method != "reject" and not r.hostname and world_open(r.address)
    ]
    targets = {id(r): _pg_declared(r, declared) for r in world if r.method not in ("trust", "password")}
    problems += [f"{r.evidence()}: open to every address" for r in world if targets.get(id(r)) is None]
    candidates = [(targets[id(r)], f"{r.evidence()}: open to every address") for r in world if targets.get(id(r))]
    failing, accepted = split_accepted(intent(facts, "postgresql"), "PG-02", candidates)
    problems += [f"{text} (declared, but not accepted)" for text in failing]
    seen = [r.evidence() for r in pg.hba]
    if accepted and not problems and not minor:
        return accepted_result("PG-02", merged_exception(accepted), [text for _e, text in accepted], seen)
    seen = [f"accepted exception: {text}" for _e, text in accepted] + seen
    return judge("no trust/password rules; local uses peer; no world-open rule", problems, minor, seen)


def _pg_intent_world_rules(facts: Facts) -> list[tuple[str, str, str]]:
    """(database, user, source) of the intent's remote rules that are open to the world."""
    remote = (intent(facts, "postgresql").get("hba") or {}).get("remote") or []
    return [
        (str(e.get("database")), str(e.get("user")), str(e.get("source")))
        for e in remote
        if isinstance(e, dict) and world_open(str(e.get("source")))
    ]


def _pg_declared(rule: HbaRule, declared: list[tuple[str, str, str]]) -> str | None:
    """The target ``hba:<database>/<user>/<source>`` of the declared entry the rule is exactly
    (same database, user and network), or None when the role did not declare it."""
    for database, user, source in declared:
        same_net = world_open(rule.address) and _same_network(rule.address or "", source)
        if rule.databases == (database,) and rule.users == (user,) and same_net:
            return f"hba:{database}/{user}/{source}"
    return None


def _same_network(address: str, source: str) -> bool:
    try:
        return ipaddress.ip_network(address, strict=False) == ipaddress.ip_network(source, strict=False)
    except ValueError:
        return address.strip().lower() == source.strip().lower()


@check(
    id="PG-03",
    title="password_encryption = scram-sha-256; no md5 hashes left",
    category="postgresql",
    severity="high",
    rationale="MD5 password hashes are replayable and cheap to crack; SCRAM-SHA-256 is the modern default.",
    remediation="password_encryption = 'scram-sha-256'; reset each md5 role's password (ALTER ROLE ... "
    "PASSWORD ...) and switch pg_hba md5 lines to scram-sha-256.",
    references=(f"{CIS_PG} 4.x", f"{PG_DOCS}/auth-password.html"),
    fix_role="postgresql",
    fix_tag="postgresql_roles",
)
def pg_scram(facts: Facts) -> Result:
    """Inspects: password_encryption; pg_authid hash type per role (classified in SQL, never exported).

    pass: scram-sha-256 and no md5 hashes; partial: md5 method lines; fail otherwise.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    encryption = pg.setting("password_encryption")
    # An enum: 'SCRAM-SHA-256' is the same value; anything else (md5, or on/true: md5 before PG 14) is not.
    problems = [] if encryption.lower() == "scram-sha-256" else [f"password_encryption = {encryption}"]
    problems += [f"role {r.name} still has an md5 password hash" for r in pg.roles if r.password == "md5"]
    minor = [
        f"{r.evidence()}: md5 method (scram is used only if the hash is scram)" for r in pg.hba if r.method == "md5"
    ]
    seen = [f"password_encryption = {encryption}", f"{len(pg.roles)} roles inspected"]
    return judge("SCRAM everywhere", problems, minor, seen)


@check(
    id="PG-04",
    title="Remote access via hostssl only; ssl on; minimum TLS 1.2",
    category="postgresql",
    severity="high",
    rationale="Passwords and data of remote sessions must not cross the network in clear.",
    remediation="Use 'hostssl' for every non-loopback pg_hba rule, 'ssl = on', "
    "'ssl_min_protocol_version = TLSv1.2', and a real certificate.",
    references=(f"{CIS_PG} 6.x", f"{PG_DOCS}/ssl-tcp.html"),
    fix_role="postgresql",
    fix_tag="postgresql_tls",
)
def pg_ssl(facts: Facts) -> Result:
    """Inspects: Remote (non-loopback) pg_hba rules, ssl, ssl_min_protocol_version.

    pass: no remote rules, or all hostssl with ssl on and TLS ≥ 1.2; fail otherwise.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    remote = [r for r in pg.hba if r.is_remote and r.method != "reject"]
    seen = [f"ssl = {pg.setting('ssl')}", f"ssl_min_protocol_version = {pg.setting('ssl_min_protocol_version')}"]
    if not remote:
        return judge("no remote pg_hba rule: nothing reaches the server off-host", [], seen=seen)
    problems = [f"{r.evidence()}: remote rule allows non-TLS connections" for r in remote if r.type != "hostssl"]
    if not _enabled(pg, "ssl"):
        problems.append(f"ssl = {pg.setting('ssl') or 'off'} (not on) while remote rules exist")
    if pg.setting("ssl_min_protocol_version").lower() not in TLS_VERSIONS:
        problems.append(f"ssl_min_protocol_version = {pg.setting('ssl_min_protocol_version')}")
    return judge("remote access is TLS-only (TLS ≥ 1.2)", problems, seen=seen + [r.evidence() for r in remote])


def _privileged(pg: PgFacts) -> list[str]:
    problems = []
    for role in pg.roles:
        attributes = [
            name
            for name, on in (
                ("SUPERUSER", role.superuser),
                ("CREATEROLE", role.createrole),
                ("CREATEDB", role.createdb),
            )
            if on
        ]
        if role.name != "postgres" and attributes:
            problems.append(f"role {role.name} has {', '.join(attributes)}")
    return problems


# playbooks/restore.yml keeps the replaced database as <db>__prerestore_<UTC stamp> (the backup
# role drops it after rampart_backup_prerestore_keep_hours): the same application's data.
PRERESTORE_RE = re.compile(r"^(?P<db>.+)__prerestore_\d{8}T\d{6}Z$")


def _owned_databases(databases: list[dict]) -> list[dict]:
    """Application databases, without restore safety copies owned like the database they copy."""
    owner_of = {d.get("name"): d.get("owner") for d in databases}
    kept = []
    for db in databases:
        name = str(db.get("name"))
        copy = PRERESTORE_RE.match(name)
        if name in SYSTEM_DATABASES or (copy and owner_of.get(copy["db"], object()) == db.get("owner")):
            continue
        kept.append(db)
    return kept


@check(
    id="PG-05",
    title="Only postgres is privileged; login roles have passwords; apps own only their database",
    category="postgresql",
    severity="high",
    rationale="Extra superusers or CREATEROLE holders turn any application compromise into a full database "
    "compromise; password-less login roles are open under password methods.",
    remediation="ALTER ROLE <app> NOSUPERUSER NOCREATEROLE NOCREATEDB; set a password on every login role; "
    "give each application role its own database (rampart postgresql role).",
    references=(f"{CIS_PG} 4.3", f"{PG_DOCS}/role-attributes.html"),
    fix_role="postgresql",
    fix_tag="postgresql_roles",
)
def pg_roles(facts: Facts) -> Result:
    """Inspects: Role attributes, login roles without password, database owners.

    pass: only postgres privileged, every login role has a password, app roles own ≤ 1 database (a restore's
    <db>__prerestore_<stamp> safety copy, owned like <db>, is not counted); fail otherwise.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    problems = _privileged(pg)
    problems += [
        f"login role {r.name} has no password"
        for r in pg.roles
        if r.login and r.password == "none" and r.name != "postgres"
    ]
    owners = Counter(d.get("owner") for d in _owned_databases(pg.databases))
    problems += [f"role {o} owns {n} databases" for o, n in owners.items() if o != "postgres" and n > 1]
    problems += [
        f"system database {d['name']} owned by {d.get('owner')}"
        for d in pg.databases
        if d.get("name") in SYSTEM_DATABASES and d.get("owner") != "postgres"
    ]
    seen = [f"{r.name}: login={r.login} super={r.superuser} password={r.password}" for r in pg.roles]
    return judge("privileges confined to postgres", problems, seen=seen)


@check(
    id="PG-06",
    title="No CREATE on schema public for PUBLIC; no PUBLIC grants on application objects",
    category="postgresql",
    severity="medium",
    rationale="CREATE on public lets any role plant functions that shadow others (CVE-2018-1058); PUBLIC "
    "grants give every role access to application data.",
    remediation="REVOKE CREATE ON SCHEMA public FROM PUBLIC; REVOKE ALL ON ALL TABLES IN SCHEMA <s> FROM PUBLIC; "
    "in every application database.",
    references=(f"{CIS_PG} 4.x", "CVE-2018-1058", f"{PG_DOCS}/ddl-schemas.html#DDL-SCHEMAS-PATTERNS"),
    fix_role="postgresql",
    fix_tag="postgresql_roles",
)
def pg_public_schema(facts: Facts) -> Result:
    """Inspects: Per database: has_schema_privilege('public','public','CREATE') and PUBLIC table grants.

    pass: none; fail: PUBLIC may CREATE in public or holds grants.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    problems, seen = [], []
    for row in pg.privileges:
        name = row.get("database")
        seen.append(f"{name}: public CREATE={row.get('public_create')}")
        if row.get("public_create"):
            problems.append(f"{name}: PUBLIC may CREATE in schema public")
        grants = row.get("public_grants") or []
        if grants:
            problems.append(f"{name}: PUBLIC has grants on {', '.join(grants[:5])}")
    if not seen:
        return not_applicable("no connectable database to inspect")
    return judge("no PUBLIC privileges in any database", problems, seen=seen)


@check(
    id="PG-07",
    title="Data directory 0700; config files owned by postgres and not world-readable",
    category="postgresql",
    severity="medium",
    rationale="World-readable configuration reveals pg_hba and settings; a loose data directory exposes "
    "all data files.",
    remediation="chmod 0700 the data directory; chown postgres:postgres and chmod 0640 postgresql.conf, "
    "pg_hba.conf and pg_ident.conf.",
    references=(f"{CIS_PG} 3.1.x",),
    fix_role="postgresql",
    fix_tag="postgresql_config",
)
def pg_files(facts: Facts) -> Result:
    """Inspects: stat() of data_directory, config_file, hba_file, ident_file.

    pass: data dir 0700, config files postgres-owned and not world-readable; fail otherwise.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    problems, seen = [], []
    data = facts.stat(pg.setting("data_directory")) if pg.setting("data_directory") else None
    if data is not None:
        seen.append(describe(data))
        if data.mode & 0o077:
            problems.append(f"{describe(data)}: should be 0700")
    for key in ("config_file", "hba_file", "ident_file"):
        st = facts.stat(pg.setting(key)) if pg.setting(key) else None
        if st is None:
            continue
        seen.append(describe(st))
        if st.owner != "postgres" or st.mode & 0o007:
            problems.append(f"{describe(st)}: should be postgres-owned and not world-readable")
    return judge("data directory and config files are private", problems, seen=seen)


@check(
    id="PG-08",
    title="Connection logging; log_line_prefix with time, user, database, client",
    category="postgresql",
    severity="medium",
    rationale="Without connection logs and a useful prefix, intrusions and brute force leave no trace.",
    remediation="log_connections = on; log_disconnections = on; log_line_prefix = '%m [%p] %q%u@%d %r '.",
    references=(f"{CIS_PG} 3.1.x", f"{PG_DOCS}/runtime-config-logging.html"),
    fix_role="postgresql",
    fix_tag="postgresql_config",
)
def pg_logging(facts: Facts) -> Result:
    """Inspects: log_connections, log_disconnections, log_line_prefix.

    pass: both on and prefix has time, user, database, client; partial: prefix incomplete; fail: connection
    logging off.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    problems = [] if _logs_connections(pg) else [f"log_connections = {pg.setting('log_connections')}"]
    problems += (
        [] if _enabled(pg, "log_disconnections") else [f"log_disconnections = {pg.setting('log_disconnections')}"]
    )
    prefix = pg.setting("log_line_prefix")
    wanted = {"time": r"%[mnt]", "user": "%u", "database": "%d", "client": r"%[rh]"}
    missing = [name for name, pattern in wanted.items() if not re.search(pattern, prefix)]
    minor = [f"log_line_prefix '{prefix}' lacks {', '.join(missing)}"] if missing else []
    return judge("connections logged with a full prefix", problems, minor, [f"log_line_prefix = '{prefix}'"])


@check(
    id="PG-09",
    title="Supported major version",
    category="postgresql",
    severity="low",
    rationale="Unsupported majors receive no security fixes.",
    remediation="Upgrade to a supported major (pg_upgradecluster on Debian) before its end-of-life date.",
    references=("https://www.postgresql.org/support/versioning/",),
    fix_role="postgresql",
    fix_tag="postgresql",
)
def pg_version(facts: Facts) -> Result:
    """Inspects: server_version_num vs the community support table.

    pass: supported; partial: end of life within 180 days; fail: end of life.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    today = now().date()
    end = END_OF_LIFE.get(pg.major)
    seen = [f"server_version {pg.setting('server_version') or pg.version_num}"]
    if end is None:
        old = pg.major < min(END_OF_LIFE)
        return judge(
            "version newer than the support table", [f"PostgreSQL {pg.major} is end-of-life"] if old else [], seen=seen
        )
    if end <= today:
        return judge("", [f"PostgreSQL {pg.major} reached end-of-life on {end}"], seen=seen)
    soon = [f"PostgreSQL {pg.major} reaches end-of-life on {end}"] if (end - today).days < 180 else []
    return judge(f"PostgreSQL {pg.major} supported until {end}", [], soon, seen)


@check(
    id="PG-10",
    title="PostgreSQL configuration on disk loads without errors",
    category="postgresql",
    severity="high",
    rationale="A pg_hba.conf line or a postgresql.conf setting the server refuses is ignored by a reload, so "
    "the running server looks fine, but the next restart or reboot fails to start it (an invalid pg_hba.conf "
    "stops the postmaster). Rampart addition to the checklist.",
    remediation="Fix the lines named in the evidence (see pg_hba_file_rules and pg_file_settings), then "
    "reload; apply changes through the postgresql role, which validates before it reloads.",
    references=(
        "Rampart addition to the checklist (not in CHECKLIST.md 1.0)",
        f"{PG_DOCS}/view-pg-hba-file-rules.html",
        f"{PG_DOCS}/view-pg-file-settings.html",
    ),
    fix_role="postgresql",
    fix_tag="postgresql",
)
def pg_config_loads(facts: Facts) -> Result:
    """Inspects: pg_hba_file_rules rows with an error, pg_file_settings rows with an error, pending restarts.

    pass: every pg_hba line and setting on disk loads (settings waiting for a restart are listed and judged by
    the other checks at their value on disk); fail: any line the server refuses; n/a: no PostgreSQL.
    """
    pg, skip = _pg_or_na(facts)
    if skip:
        return skip
    problems = [f"{e.evidence()} (refused by the server)" for e in pg.hba_errors]
    problems += [f"{line} (refused by the server)" for line in pg.file_errors]
    seen = [f"{len(pg.hba)} pg_hba lines load"]
    if pg.server_error:
        seen.insert(0, f"server not asked ({pg.server_error}): judged the files on disk")
    seen += [f"{name}: running '{run}', on disk '{disk}' (pending restart)" for name, (run, disk) in pg.pending.items()]
    return judge("pg_hba.conf and the configuration files load without errors", problems, seen=seen)
