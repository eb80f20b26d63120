"""Other data services pack (ODB-01..03, ODB-05): RabbitMQ, ClickHouse, MariaDB/MySQL when present."""

from __future__ import annotations

import ipaddress
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import as_list, doubted_by, judge
from ansible_collections.rampart.hardening.plugins.module_utils.exposure import (
    accept_declared,
    exposed_bind,
    wildcard_bind,
    world_open,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.probes import clickhouse, first_line, intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import describe, glob_all
from ansible_collections.rampart.hardening.plugins.module_utils.probes.sockets import exposed
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import unit
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

RABBIT_CONF = "/etc/rabbitmq/rabbitmq.conf"
ERLANG_COOKIE = "/var/lib/rabbitmq/.erlang.cookie"
RABBIT_CONF_D = "/etc/rabbitmq/conf.d/*.conf"
RABBIT_ADVANCED = "/etc/rabbitmq/advanced.config"
RABBIT_CLASSIC = "/etc/rabbitmq/rabbitmq.config"
RABBIT_LIST_USERS = ("rabbitmqctl", "-q", "list_users", "--formatter", "json")
RABBIT_PLAIN_MANAGEMENT = 15672
RABBIT_PLAIN_AMQP = 5672
RABBIT_CLUSTER_PORTS = (4369, 25672)
RABBIT_WEAK_VERSIONS = ("sslv3", "tlsv1", "tlsv1.1")
RABBIT_AEAD = re.compile(
    r"TLS_AES_(128|256)_GCM_SHA(256|384)|TLS_CHACHA20_POLY1305_SHA256|"
    r"ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)",
    re.IGNORECASE,
)
# SHA-256 and double SHA-1 of the empty password: such a "hash" is no password.
CH_HASHES = {
    "password_sha256_hex": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "password_double_sha1_hex": "be1bdec0aa74b4dcb079943e70528096cca985f8",
}
CH_OTHER_AUTH = ("ldap", "kerberos", "ssl_certificates", "ssh_keys", "password_bcrypt_hash")
CH_QUOTA_LIMITS = (
    "queries",
    "query_selects",
    "query_inserts",
    "errors",
    "result_rows",
    "result_bytes",
    "read_rows",
    "read_bytes",
    "execution_time",
)
MYSQL_SQL = (
    "SELECT (SELECT COUNT(*) FROM mysql.user WHERE user = ''), "
    "(SELECT COUNT(*) FROM mysql.user WHERE user = 'root' AND host NOT IN ('localhost', '127.0.0.1', '::1')), "
    "(SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'test'), @@local_infile"
)


def _rabbit_present(facts: Facts) -> bool:
    return unit(facts, "rabbitmq-server.service") is not None or facts.stat("/etc/rabbitmq") is not None


def _rabbit_settings(facts: Facts) -> tuple[dict[str, str], list[str]]:
    """Effective ``key = value`` settings of rabbitmq.conf and conf.d/*.conf (later lines win), files read."""
    settings: dict[str, str] = {}
    files: list[str] = []
    for path in [RABBIT_CONF, *sorted(glob_all(facts, (RABBIT_CONF_D,)))]:
        text = facts.read_text(path)
        if text is None:
            continue
        files.append(path)
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            key, sep, value = line.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z0-9_.$-]+", key.strip()):
                raise ProbeError(f"{path}:{number}: not a 'key = value' line: {raw.strip()[:60]!r}")
            settings[key.strip()] = value.strip()
    return settings, files


def _erlang_terms(facts: Facts) -> list[tuple[str, str]]:
    """advanced.config and a classic rabbitmq.config, without their % comments."""
    found = []
    for path in (RABBIT_ADVANCED, RABBIT_CLASSIC):
        text = facts.read_text(path)
        if text is not None:
            found.append((path, re.sub(r"%[^\n]*", "", text)))
    return found


def _guest_open(settings: dict[str, str], terms: list[tuple[str, str]]) -> str | None:
    """Why the config lets guest log in from the network, or None when guest stays loopback-only.

    RabbitMQ's schema: no loopback_users key keeps the default [guest]; ``loopback_users = none``
    empties the list; any ``loopback_users.<user>`` key makes the list exactly the users set to
    ``true``, so ``loopback_users.admin = true`` alone opens guest. advanced.config wins.
    """
    for path, text in terms:
        listed = re.search(r"\{\s*loopback_users\s*,\s*\[([^\]]*)\]", text)
        if listed:
            if re.search(r"""<<\s*"guest"\s*>>|"guest"|'guest'""", listed.group(1)):
                return None
            return f"{path}: loopback_users [{listed.group(1).strip()}] leaves out guest"
    if settings.get("loopback_users", "").lower() == "none":
        return f"{RABBIT_CONF}: loopback_users = none"
    per_user = {key: value for key, value in settings.items() if key.startswith("loopback_users.")}
    if per_user and per_user.get("loopback_users.guest", "").lower() != "true":
        shown = ", ".join(f"{key} = {value}" for key, value in sorted(per_user.items()))
        return f"{RABBIT_CONF}: {shown} (guest is loopback-only only with loopback_users.guest = true)"
    return None


def _rabbit_users(facts: Facts) -> tuple[set[str] | None, str]:
    """User names from ``rabbitmqctl list_users`` (None when the node could not be asked) and a note."""
    out = facts.run(RABBIT_LIST_USERS)
    if out.rc != 0:
        return None, f"rabbitmqctl list_users failed (rc {out.rc}): {first_line(out.stderr) or first_line(out.stdout)}"
    try:
        users = json.loads(out.stdout)
        names = {str(user["user"]) for user in users}
    except (ValueError, TypeError, KeyError) as exc:
        raise ProbeError(f"cannot parse rabbitmqctl list_users output: {exc}") from exc
    return names, f"users (rabbitmqctl list_users): {', '.join(sorted(names)) or 'none'}"


def _rabbit_internal_exposure(facts: Facts, declared: dict[str, Any]) -> list[str]:
    """Off-host listeners on 15672, 4369, 25672 (unless on the intent's private cluster address),
    and a management HTTPS port on a wildcard or public address."""
    distribution = declared.get("distribution") or {}
    cluster = {str(a) for a in as_list(distribution.get("epmd_addresses"))} | {str(distribution.get("address"))}
    management = declared.get("management") or {}
    mgmt_tls = int(management.get("tls_port") or 15671)
    problems = []
    for item in exposed(facts):
        if item.port == RABBIT_PLAIN_MANAGEMENT:
            problems.append(f"{item.evidence()}: plaintext management is reachable off-host")
        elif item.port in RABBIT_CLUSTER_PORTS and (exposed_bind(item.address) or item.address not in cluster):
            what = "epmd" if item.port == RABBIT_CLUSTER_PORTS[0] else "distribution"
            problems.append(f"{item.evidence()}: Erlang {what} port off-host")
        elif item.port == mgmt_tls and exposed_bind(item.address):
            problems.append(f"{item.evidence()}: management on a wildcard or public address")
    return problems


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
    fix_role="rabbitmq",
    fix_tag="rabbitmq",
)
@doubted_by("ss")
def odb_rabbitmq(facts: Facts) -> Result:
    """Inspects: loopback_users in rabbitmq.conf, conf.d and advanced.config (any spelling), `rabbitmqctl list_users`
    (guest present?), off-loopback listeners on 15672/4369/25672 and the management TLS port, the cookie mode.

    pass: guest deleted or loopback-only, internal ports on loopback (or the intent's private cluster address),
    cookie 0400; fail otherwise; error: unreadable config; n/a: no RabbitMQ or an accepted exception.
    """
    if not _rabbit_present(facts):
        return not_applicable("RabbitMQ is not installed")
    declared = intent(facts, "rabbitmq")
    settings, files = _rabbit_settings(facts)
    terms = _erlang_terms(facts)
    users, note = _rabbit_users(facts)
    seen = [*files, *(path for path, _text in terms), note]
    problems = []
    guest_open = _guest_open(settings, terms)
    if guest_open and (users is None or "guest" in users):
        problems.append(f"guest may log in from the network: {guest_open}")
    problems += _rabbit_internal_exposure(facts, declared)
    cookie = facts.stat(ERLANG_COOKIE)
    if cookie is not None:
        seen.append(describe(cookie))
        if cookie.mode & 0o377:
            problems.append(f"{describe(cookie)}: should be 0400")
    result = judge("guest, internal ports and cookie are locked down", problems, seen=seen)
    return accept_declared(declared, "ODB-01", result)  # rampart_rabbitmq_accepted_exceptions


def _rabbit_tls_findings(settings: dict[str, str], terms: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(failures, partial findings) of the TLS versions and cipher suites of AMQPS and management HTTPS."""
    failures, partials = [], []
    for prefix in ("ssl_options", "management.ssl"):
        if prefix == "management.ssl" and not any(key.startswith("management.ssl.") for key in settings):
            continue
        versions = [value.lower() for key, value in settings.items() if key.startswith(f"{prefix}.versions.")]
        failures += [f"{prefix}.versions includes {v}" for v in versions if v in RABBIT_WEAK_VERSIONS]
        ciphers = [value for key, value in settings.items() if key.startswith(f"{prefix}.ciphers.")]
        weak = [c for c in ciphers if not RABBIT_AEAD.fullmatch(c)]
        if weak:
            failures.append(f"{prefix}.ciphers includes non-AEAD or non-ECDHE suites: {', '.join(weak[:5])}")
        if not ciphers:
            partials.append(f"{prefix}.ciphers not set: Erlang's defaults include CBC suites for TLS 1.2")
    for path, text in terms:
        for version in re.findall(r"\bversions\s*,\s*\[([^\]]*)\]", text):
            named = {v.lower() for v in re.findall(r"[A-Za-z0-9.]+", version.replace("'", " "))}
            failures += [
                f"{path}: versions [{version.strip()}] includes {v}" for v in RABBIT_WEAK_VERSIONS if v in named
            ]
    return failures, partials


@check(
    id="ODB-04",
    title="RabbitMQ: no plaintext AMQP or management off-host; TLS 1.2+ with AEAD suites",
    category="other_data_services",
    severity="high",
    rationale="AMQP on 5672 and the management UI on 15672 send passwords and messages in clear; TLS 1.0/1.1 and "
    "CBC suites are deprecated (RFC 8996) and open to known attacks.",
    remediation="listeners.tcp = none with listeners.ssl.N on the declared addresses; management.ssl.* only; "
    "ssl_options.versions tlsv1.2/tlsv1.3 and ECDHE + GCM/ChaCha20-Poly1305 ssl_options.ciphers.",
    references=("https://www.rabbitmq.com/docs/ssl", "https://www.rabbitmq.com/docs/management#single-listener-https"),
    fix_role="rabbitmq",
    fix_tag="rabbitmq_tls",
)
@doubted_by("ss")
def odb_rabbitmq_tls(facts: Facts) -> Result:
    """Inspects: listeners on 5672/15672 reachable off-host (ss), ssl_options / management.ssl versions and ciphers
    in rabbitmq.conf and conf.d, `versions` in advanced.config.

    pass: no plaintext AMQP/management off-host, TLS 1.2+ and AEAD ECDHE suites only; partial: cipher suites left
    to Erlang's defaults; fail: plaintext off-host or TLS < 1.2 or a weak suite; error: unreadable config or ss.
    """
    if not _rabbit_present(facts):
        return not_applicable("RabbitMQ is not installed")
    settings, files = _rabbit_settings(facts)
    terms = _erlang_terms(facts)
    problems = [
        f"{item.evidence()}: plaintext {'AMQP' if item.port == RABBIT_PLAIN_AMQP else 'management'} reachable off-host"
        for item in exposed(facts)
        if item.port in (RABBIT_PLAIN_AMQP, RABBIT_PLAIN_MANAGEMENT)
    ]
    failures, partials = _rabbit_tls_findings(settings, terms)
    tls = sorted(value for key, value in settings.items() if key.startswith("listeners.ssl."))
    seen = [*files, *(path for path, _text in terms), f"AMQPS listeners: {', '.join(tls) or 'none'}"]
    return judge("no plaintext off-host; TLS 1.2+ with AEAD suites", problems + failures, minor=partials, seen=seen)


def _clickhouse_present(facts: Facts) -> bool:
    return unit(facts, "clickhouse-server.service") is not None or facts.stat("/etc/clickhouse-server") is not None


def _ch_password(user: ET.Element) -> bool:
    """True when the user needs a secret: a non-empty password (not the hash of ""), or another method."""
    for element in user:
        value = (element.text or "").strip().lower()
        if element.tag == "password" and value:
            return True
        if element.tag in CH_HASHES and value and value != CH_HASHES[element.tag]:
            return True
        if element.tag in CH_OTHER_AUTH:
            return True
    return False


def _ch_networks(user: ET.Element) -> list[tuple[str, str]]:
    """(kind, value) of the user's networks; [("missing", "")] when there is no <networks> (any host)."""
    networks = user.find("networks")
    if networks is None:
        return [("missing", "")]
    return [(n.tag, (n.text or "").strip()) for n in networks]


def _ch_local(kind: str, value: str) -> bool:
    if kind == "host":
        return value.lower() == "localhost"
    if kind == "host_regexp":
        return re.fullmatch(r"\^?localhost\$?", value) is not None
    network = _ch_network(value) if kind == "ip" else None
    return network is not None and network.is_loopback


def _ch_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _ch_open(kind: str, value: str) -> bool:
    """A network entry admitting any client: no <networks>, ::/0 in any spelling, a regexp matching anything."""
    if kind == "missing":
        return True
    if kind == "ip":
        return world_open(value)
    if kind == "host_regexp":
        try:
            return re.search(value, "attacker.invalid") is not None
        except re.error:
            return True
    return kind == "host" and value in ("*", "")


def _ch_effective(facts: Facts) -> tuple[ET.Element, ET.Element, list[str]]:
    return facts.cached("clickhouse_effective", lambda: clickhouse.effective(facts))


@check(
    id="ODB-02",
    title="ClickHouse: default user protected or localhost-only; listen_host not wildcard",
    category="other_data_services",
    severity="critical",
    rationale="ClickHouse's default user has no password; with a wildcard listen_host anyone can read, "
    "write and run table functions that reach files and URLs.",
    remediation="Give 'default' a password_sha256_hex or restrict <networks> to ::1/127.0.0.1; set listen_host "
    "to specific addresses.",
    references=(
        "https://clickhouse.com/docs/operations/settings/settings-users",
        "https://clickhouse.com/docs/operations/configuration-files",
    ),
    fix_role="clickhouse",
    fix_tag="clickhouse_users",
)
def odb_clickhouse(facts: Facts) -> Result:
    """Inspects: the merged config.xml + config.d/conf.d and users file + users.d/conf.d (replace/remove, incl).

    pass: 'default' removed, or with a password or only loopback networks, and no wildcard listen_host;
    partial: a public listen_host; fail: wildcard listen_host or an open default user; error: unparsable
    or missing config; n/a: no ClickHouse.
    """
    if not _clickhouse_present(facts):
        return not_applicable("ClickHouse is not installed")
    config, users, used = _ch_effective(facts)
    listen = [(e.text or "").strip() for e in config.findall("listen_host")]
    problems = [f"listen_host {h or '(empty)'} (wildcard)" for h in listen if not h or wildcard_bind(h)]
    minor = [f"listen_host {h} (public address)" for h in listen if h and not wildcard_bind(h) and exposed_bind(h)]
    seen = [f"listen_host: {', '.join(listen) or 'none (loopback only)'}"]
    default = users.find("users/default")
    if default is None:
        seen.append("user 'default' removed")
    else:
        has_password = _ch_password(default)
        networks = _ch_networks(default)
        local_only = all(_ch_local(kind, value) for kind, value in networks) and bool(networks)
        seen.append(
            f"user 'default': {'password set' if has_password else 'no password'}, networks "
            + ", ".join(f"{kind} {value}".strip() for kind, value in networks)
        )
        if not (has_password or local_only):
            problems.append("user 'default' has no password and is not limited to localhost")
    result = judge("default user protected, listen_host specific", problems, minor, seen=[*seen, *used])
    return accept_declared(facts.intent("clickhouse"), "ODB-02", result)  # rampart_clickhouse_accepted_exceptions


def _ch_profile_readonly(users: ET.Element, name: str, depth: int = 0) -> bool:
    """The profile (or a profile it inherits) sets readonly >= 1."""
    profile = users.find(f"profiles/{name}") if re.fullmatch(r"[A-Za-z0-9_.-]+", name) else None
    if profile is None or depth > 8:
        return False
    value = (profile.findtext("readonly") or "").strip()
    if value:
        return value.isdigit() and int(value) >= 1
    parents = [(p.text or "").strip() for p in profile.findall("profile")]
    return any(_ch_profile_readonly(users, parent, depth + 1) for parent in parents)


def _ch_quota_limited(users: ET.Element, name: str) -> bool:
    quota = users.find(f"quotas/{name}") if re.fullmatch(r"[A-Za-z0-9_.-]+", name) else None
    if quota is None:
        return False
    return any(
        (limit.text or "").strip().isdigit() and int((limit.text or "").strip()) > 0
        for interval in quota.findall("interval")
        for limit in interval
        if limit.tag in CH_QUOTA_LIMITS
    )


def _ch_user_findings(users: ET.Element, user: ET.Element, writers: set[str]) -> tuple[list[str], list[str]]:
    name = user.tag
    problems = [f"user '{name}' has no password"] if not _ch_password(user) else []
    problems += [
        f"user '{name}' accepts any client ({kind} {value})".replace(" )", ")")
        for kind, value in _ch_networks(user)
        if _ch_open(kind, value)
    ]
    minor = []
    profile = (user.findtext("profile") or "default").strip()
    if not _ch_profile_readonly(users, profile) and name not in writers:
        minor.append(f"user '{name}' can write (profile {profile} is not readonly) and is not a declared writer")
    quota = (user.findtext("quota") or "default").strip()
    if not _ch_quota_limited(users, quota):
        minor.append(f"user '{name}' has no quota limit (quota {quota})")
    return problems, minor


@check(
    id="ODB-05",
    title="ClickHouse: application users have passwords, restricted networks, read-only profiles and quotas",
    category="other_data_services",
    severity="high",
    rationale="An application user without a password or with <ip>::/0 is a second default user; one that can "
    "write or run unlimited queries turns a leaked credential into data loss or a denial of service.",
    remediation="Give every user a password_sha256_hex, networks listing its clients, a profile with readonly=1 "
    "(or declare it a writer) and a quota with limits (rampart.hardening.clickhouse rampart_clickhouse_users).",
    references=(
        "https://clickhouse.com/docs/operations/settings/settings-users",
        "https://clickhouse.com/docs/operations/quotas",
        "https://clickhouse.com/docs/operations/settings/permissions-for-queries",
    ),
    fix_role="clickhouse",
    fix_tag="clickhouse_users",
)
def odb_clickhouse_users(facts: Facts) -> Result:
    """Inspects: every user but 'default' in the merged users config, their profiles (readonly) and quotas.

    pass: password, restricted networks, readonly profile (or declared writer in the clickhouse intent) and a
    quota with a limit; partial: a writer not declared or no quota limit; fail: no password or any-client
    networks; error: unparsable config; n/a: no ClickHouse, or no user besides 'default'.
    """
    if not _clickhouse_present(facts):
        return not_applicable("ClickHouse is not installed")
    _config, users, used = _ch_effective(facts)
    accounts = [u for u in users.findall("users/*") if u.tag != "default"]
    if not accounts:
        return not_applicable("no ClickHouse user besides 'default'")
    intent = facts.intent("clickhouse") or {}
    writers = {
        str(u.get("name")) for u in intent.get("users") or [] if isinstance(u, dict) and u.get("readonly") is False
    }
    problems, minor = [], []
    for user in accounts:
        user_problems, user_minor = _ch_user_findings(users, user, writers)
        problems += user_problems
        minor += user_minor
    seen = [f"users: {', '.join(u.tag for u in accounts)}", *used]
    result = judge("users have passwords, restricted networks, readonly profiles and quotas", problems, minor, seen)
    return accept_declared(intent, "ODB-05", result)  # rampart_clickhouse_accepted_exceptions


# The server itself: its unit or its binary. Not /etc/mysql, which mysql-common ships with every
# MariaDB/MySQL client library (ClickHouse's packages pull in libmariadb3, for one).
MYSQL_SERVER_BINARIES = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")


def _mysql_present(facts: Facts) -> bool:
    return any(unit(facts, u) is not None for u in ("mariadb.service", "mysql.service")) or any(
        facts.stat(path) is not None for path in MYSQL_SERVER_BINARIES
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
