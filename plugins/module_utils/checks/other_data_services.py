"""Other data services pack (ODB-01..03): RabbitMQ, ClickHouse, MariaDB/MySQL when present."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import judge
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.probes import first_line
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import describe, glob_all
from ansible_collections.rampart.hardening.plugins.module_utils.probes.sockets import exposed
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import unit
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

RABBIT_CONF = "/etc/rabbitmq/rabbitmq.conf"
ERLANG_COOKIE = "/var/lib/rabbitmq/.erlang.cookie"
RABBIT_INTERNAL_PORTS = (15672, 4369, 25672)
CLICKHOUSE_CONFIGS = (
    "/etc/clickhouse-server/config.xml",
    "/etc/clickhouse-server/config.d/*.xml",
    "/etc/clickhouse-server/users.xml",
    "/etc/clickhouse-server/users.d/*.xml",
)
MYSQL_SQL = (
    "SELECT (SELECT COUNT(*) FROM mysql.user WHERE user = ''), "
    "(SELECT COUNT(*) FROM mysql.user WHERE user = 'root' AND host NOT IN ('localhost', '127.0.0.1', '::1')), "
    "(SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'test'), @@local_infile"
)


def _rabbit_present(facts: Facts) -> bool:
    return unit(facts, "rabbitmq-server.service") is not None or facts.stat("/etc/rabbitmq") is not None


@check(
    id="ODB-01",
    title="RabbitMQ: guest loopback-only; management/epmd/cluster ports not public; cookie 0400",
    category="other_data_services",
    severity="high",
    rationale="guest/guest from the network, an exposed management UI or Erlang distribution port, or a "
    "readable cookie give full control of the broker (and the Erlang VM).",
    remediation="Delete the guest user or keep loopback_users.guest = true; bind management/epmd/clustering to "
    "private interfaces or firewall them; chmod 0400 the Erlang cookie.",
    references=("https://www.rabbitmq.com/docs/access-control", "https://www.rabbitmq.com/docs/networking"),
)
def odb_rabbitmq(facts: Facts) -> Result:
    """Inspects: rabbitmq.conf loopback_users, off-loopback listeners on 15672/4369/25672, the Erlang cookie mode.

    pass: guest loopback-only, internal ports private, cookie 0400; fail otherwise; n/a: no RabbitMQ.
    """
    if not _rabbit_present(facts):
        return not_applicable("RabbitMQ is not installed")
    problems, seen = [], []
    conf = facts.read_text(RABBIT_CONF) or ""
    if re.search(r"^\s*loopback_users(\.guest)?\s*=\s*(false|none)", conf, re.M):
        problems.append(f"{RABBIT_CONF}: guest allowed from the network (loopback_users)")
    problems += [
        f"{item.evidence()} is reachable off-host" for item in exposed(facts) if item.port in RABBIT_INTERNAL_PORTS
    ]
    cookie = facts.stat(ERLANG_COOKIE)
    if cookie is not None:
        seen.append(describe(cookie))
        if cookie.mode & 0o377:
            problems.append(f"{describe(cookie)}: should be 0400")
    return judge("guest, internal ports and cookie are locked down", problems, seen=seen)


def _clickhouse_docs(facts: Facts) -> list[tuple[str, ET.Element]]:
    docs = []
    for path in glob_all(facts, CLICKHOUSE_CONFIGS):
        text = facts.read_text(path)
        if not text:
            continue
        try:
            docs.append((path, ET.fromstring(text)))
        except ET.ParseError as exc:
            raise ProbeError(f"cannot parse {path}: {exc}") from exc
    return docs


def _clickhouse_default_user(docs: list[tuple[str, ET.Element]]) -> tuple[bool, bool]:
    """(has password, restricted to localhost) for the 'default' user across users files."""
    has_password, local_only = False, False
    for _path, root in docs:
        for default in root.iter("default"):
            for tag in ("password", "password_sha256_hex", "password_double_sha1_hex", "ssh_keys", "ldap"):
                element = default.find(tag)
                if element is not None and (element.text or len(element)):
                    has_password = True
            networks = default.find("networks")
            if networks is not None:
                values = [(n.text or "").strip() for n in networks]
                local_only = bool(values) and all(v in ("::1", "127.0.0.1", "localhost", "::1/128") for v in values)
    return has_password, local_only


@check(
    id="ODB-02",
    title="ClickHouse: default user protected or localhost-only; listen_host not wildcard",
    category="other_data_services",
    severity="critical",
    rationale="ClickHouse's default user has no password; with a wildcard listen_host anyone can read, "
    "write and run table functions that reach files and URLs.",
    remediation="Give 'default' a password_sha256_hex or restrict <networks> to ::1/127.0.0.1; set listen_host "
    "to specific addresses.",
    references=("https://clickhouse.com/docs/operations/settings/settings-users",),
)
def odb_clickhouse(facts: Facts) -> Result:
    """Inspects: ClickHouse config.xml/users.xml (+ .d): listen_host and the default user's password/networks.

    pass: default protected or localhost-only and listen_host specific; fail otherwise; n/a: no ClickHouse.
    """
    if unit(facts, "clickhouse-server.service") is None and facts.stat("/etc/clickhouse-server") is None:
        return not_applicable("ClickHouse is not installed")
    docs = _clickhouse_docs(facts)
    problems = []
    listen = [(e.text or "").strip() for _p, root in docs for e in root.iter("listen_host")]
    problems += [f"listen_host {h} (wildcard)" for h in listen if h in ("::", "0.0.0.0", "*")]
    has_password, local_only = _clickhouse_default_user(docs)
    if not (has_password or local_only):
        problems.append("user 'default' has no password and is not limited to localhost")
    return judge("default user protected, listen_host specific", problems, seen=[p for p, _unused in docs])


def _mysql_present(facts: Facts) -> bool:
    return (
        any(unit(facts, u) is not None for u in ("mariadb.service", "mysql.service"))
        or facts.stat("/etc/mysql") is not None
    )


@check(
    id="ODB-03",
    title="MariaDB/MySQL: no anonymous users, no remote root, no test database, local_infile = 0",
    category="other_data_services",
    severity="high",
    rationale="The installer's anonymous users and test database, remote root and LOAD DATA LOCAL are the "
    "classic MySQL compromise paths.",
    remediation="Run mariadb-secure-installation (or DROP USER ''@'%'; DROP DATABASE test; restrict root to "
    "localhost) and set local_infile = 0 in the [mysqld] section.",
    references=("CIS MariaDB 10.11 Benchmark", "https://mariadb.com/kb/en/mariadb-secure-installation/"),
)
def odb_mysql(facts: Facts) -> Result:
    """Inspects: One `mysql -NBe` query as root: anonymous users, remote root, test schema, @@local_infile.

    pass: none of them; fail otherwise; error: query failed; n/a: no MariaDB/MySQL.
    """
    if not _mysql_present(facts):
        return not_applicable("MariaDB/MySQL is not installed")
    out = facts.run(("mysql", "-NBe", MYSQL_SQL))
    if out.rc != 0:
        raise ProbeError(f"mysql query as root failed (rc {out.rc}): {first_line(out.stderr)}")
    fields = out.stdout.split()
    if len(fields) != 4 or not all(f.isdigit() for f in fields):
        raise ProbeError(f"unexpected mysql output {out.stdout[:60]!r}")
    anonymous, remote_root, test_db, infile = map(int, fields)
    problems = [
        text
        for count, text in (
            (anonymous, f"{anonymous} anonymous account(s)"),
            (remote_root, f"{remote_root} root account(s) reachable from remote hosts"),
            (test_db, "test database present"),
            (infile, "local_infile = 1"),
        )
        if count
    ]
    return judge("no anonymous/remote root users, no test DB, local_infile off", problems)
