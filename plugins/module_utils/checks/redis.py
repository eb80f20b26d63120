"""Redis pack (RDS-01..06): redis.conf, the ACL users, an unauthenticated PING, file modes."""

from __future__ import annotations

import ipaddress

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import as_list, doubted_by, judge
from ansible_collections.rampart.hardening.plugins.module_utils.exposure import (
    accept_declared,
    accepted_exceptions,
    accepted_result,
    merged_exception,
    split_accepted,
    wildcard_bind,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import describe
from ansible_collections.rampart.hardening.plugins.module_utils.probes.redis import RedisFacts, redis
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import processes
from ansible_collections.rampart.hardening.plugins.module_utils.probes.users import name_of_uid
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

REDIS_SECURITY = "https://redis.io/docs/latest/operate/oss_and_stack/management/security/"
REDIS_ACL = "https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/"
CIS_REDIS = "CIS Redis 7 Benchmark"
MIN_PASSWORD = 16
ADMIN_NAMES = ("admin", "rampart-audit")


def _redis_or_na(facts: Facts) -> tuple[RedisFacts | None, Result | None]:
    info = redis(facts)
    if info is None:
        return None, not_applicable("Redis is not installed")
    return info, None


def _address_kind(bind: str) -> str:
    """loopback | private | public | wildcard for one bind address."""
    address = bind.lstrip("-")
    if address in ("*", "0.0.0.0", "::", "::*") or wildcard_bind(address):  # any spelling: ::0, 0:0:...:0
        return "wildcard"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "public"
    if ip.is_loopback:
        return "loopback"
    return "private" if ip.is_private else "public"


@check(
    id="RDS-01",
    title="Bound to loopback/private declared addresses; protected-mode yes; TLS off-host",
    category="redis",
    severity="critical",
    rationale="Redis exposed on a public address is found and abused within minutes; off-host traffic must "
    "be encrypted.",
    remediation="bind 127.0.0.1 -::1 (plus declared private addresses); protected-mode yes; for off-host "
    "clients: tls-port 6380, port 0, tls-cert-file/tls-key-file.",
    references=(REDIS_SECURITY, f"{CIS_REDIS} 2.x"),
    fix_role="redis",
    fix_tag="redis_config",
)
def rds_bind(facts: Facts) -> Result:
    """Inspects: bind, protected-mode, port/tls-port in redis.conf (with includes) vs redis intent bind_addresses.

    pass: loopback/private binds, protected mode, TLS-only off-host; partial: undeclared private bind; fail:
    wildcard/public bind, protected-mode no, plaintext off-host; not_applicable: every deviation is accepted
    (accepted_exceptions RDS-01 with target bind:<address> for that bind only, or host-wide).
    """
    info, skip = _redis_or_na(facts)
    if skip:
        return skip
    data = intent(facts, "redis")
    declared = {str(a).lstrip("-") for a in as_list(data.get("bind") or data.get("bind_addresses"))}
    binds = info.binds()
    problems: list[tuple[str | None, str]] = []  # (target an accepted exception may name, text)
    minor: list[tuple[str | None, str]] = []
    seen = [info.config.evidence("bind"), info.config.evidence("protected-mode"), info.config.evidence("tls-port")]
    off_host = False
    for bind in binds:
        kind = _address_kind(bind)
        off_host = off_host or kind != "loopback"
        if kind in ("wildcard", "public"):
            problems.append((f"bind:{bind.lstrip('-')}", f"bound to {bind} ({kind})"))
        elif declared and kind == "private" and bind.lstrip("-") not in declared:
            minor.append((f"bind:{bind.lstrip('-')}", f"bound to {bind}, not in the declared bind_addresses"))
    if (info.config.get("protected-mode") or "yes").lower() != "yes":
        problems.append((None, "protected-mode no"))
    tls_only = (info.config.get("tls-port") or "0") != "0" and (info.config.get("port") or "6379") == "0"
    if off_host and not tls_only and not data.get("allow_plaintext_remote"):
        problems.append((None, "reachable off-host without TLS (plaintext port open)"))
    return _accept_binds(data, problems, minor, seen)


def _accept_binds(
    data: dict, problems: list[tuple[str | None, str]], minor: list[tuple[str | None, str]], seen: list[str]
) -> Result:
    """judge() with rampart_redis_accepted_exceptions applied: host-wide (deprecated) or per bind address."""
    ok = "loopback/private bind, protected mode, TLS off-host"
    if "RDS-01" in accepted_exceptions(data):  # the per-check form accepts every deviation
        result = judge(ok, [text for _where, text in problems], [text for _where, text in minor], seen)
        return accept_declared(data, "RDS-01", result)
    failing, accepted = split_accepted(data, "RDS-01", problems)
    minor_failing, minor_accepted = split_accepted(data, "RDS-01", minor)
    accepted += minor_accepted
    if accepted and not failing and not minor_failing:
        return accepted_result("RDS-01", merged_exception(accepted), [text for _where, text in accepted], seen)
    return judge(ok, failing, minor_failing, [f"accepted exception: {text}" for _where, text in accepted] + seen)


def _password_strength(user_passwords: list[str]) -> str | None:
    weak = [p for p in user_passwords if len(p) < MIN_PASSWORD]
    return f"a plaintext password shorter than {MIN_PASSWORD} characters" if weak else None


@check(
    id="RDS-02",
    title="The default user is off or has a strong password",
    category="redis",
    severity="critical",
    rationale="Clients that do not authenticate act as 'default'; if it is on without a password, anyone who "
    "can connect owns the data (and often the host).",
    remediation="In the ACL file: 'user default off' (applications get named users), or a long random "
    "password: 'user default on #<sha256> ...'.",
    references=(REDIS_ACL, f"{CIS_REDIS} 3.x"),
    fix_role="redis",
    fix_tag="redis_acl",
)
def rds_default_user(facts: Facts) -> Result:
    """Inspects: The default user in the aclfile / `user` lines (or implicit default with requirepass).

    pass: off, or a password (hashed, or plaintext ≥ 16 chars); fail: nopass or short plaintext.
    """
    info, skip = _redis_or_na(facts)
    if skip:
        return skip
    default = info.user("default")
    seen = [f"ACL source: {info.acl_source}"]
    if default is None or not default.enabled:
        return judge("default user is off", [], seen=seen)
    if not default.has_password:
        return judge("", ["default user is on with nopass"], seen=seen)
    weak = _password_strength(default.plaintext_passwords)
    return judge("default user has a password", [f"default user has {weak}"] if weak else [], seen=seen)


@check(
    id="RDS-03",
    title="Unauthenticated commands get NOAUTH",
    category="redis",
    severity="critical",
    rationale="Only an actual unauthenticated command proves the ACL works as configured.",
    remediation="Disable the default user or give it a password (RDS-02), then restart Redis.",
    references=(REDIS_SECURITY,),
    fix_role="redis",
    fix_tag="redis_acl",
)
def rds_noauth(facts: Facts) -> Result:
    """Inspects: An unauthenticated `redis-cli PING` on the host; the ACL when unreachable.

    pass: NOAUTH; fail: PONG (or ACL lets unauthenticated clients in). From other hosts: verified live.
    """
    info, skip = _redis_or_na(facts)
    if skip:
        return skip
    if info.unauthenticated == "open":
        return judge("", ["an unauthenticated PING on the host got PONG"])
    if info.unauthenticated == "auth-required":
        return judge("unauthenticated PING refused with NOAUTH (from another host: verified live)", [])
    default = info.user("default")
    config_open = default is not None and default.enabled and not default.has_password
    note = "redis not reachable with redis-cli; judged from the ACL configuration (verified live)"
    return judge(
        note, ["ACL configuration lets unauthenticated clients run commands"] if config_open else [], seen=[note]
    )


@check(
    id="RDS-04",
    title="Application users are least-privilege",
    category="redis",
    severity="high",
    rationale="An application user with +@all or dangerous commands (FLUSHALL, CONFIG, DEBUG, MODULE) turns an "
    "app bug into data loss or code execution.",
    remediation="Per application: 'user app on #<sha256> ~app:* -@all +@read +@write +@connection -@dangerous'.",
    references=(REDIS_ACL,),
    fix_role="redis",
    fix_tag="redis_acl",
)
def rds_app_users(facts: Facts) -> Result:
    """Inspects: Enabled users other than default/admin/audit: command grants and key patterns.

    pass: no +@all (without -@dangerous), +@admin/+@dangerous or dangerous commands, scoped keys; partial: all
    keys; fail: dangerous grants; n/a: no application user.
    """
    info, skip = _redis_or_na(facts)
    if skip:
        return skip
    data = intent(facts, "redis")
    audit = data.get("audit_user")
    audit_name = audit.get("name") if isinstance(audit, dict) else audit
    admins = {str(data.get("admin_user") or ""), str(audit_name or ""), *ADMIN_NAMES, "default"}
    # Dangerous commands an application was explicitly granted in the redis role (dangerous_allowed).
    allowed = {
        str(u.get("name")): {str(c).lower().lstrip("+") for c in as_list(u.get("dangerous_allowed"))}
        for u in as_list(data.get("users"))
        if isinstance(u, dict)
    }
    apps = [u for u in info.users if u.name not in admins and u.enabled]
    if not apps:
        return not_applicable("no application user in the ACL")
    problems, minor, seen = [], [], []
    for user in apps:
        grants = user.dangerous_grants()
        declared = [g for g in grants if g.lower().lstrip("+") in allowed.get(user.name, set())]
        undeclared = [g for g in grants if g not in declared]
        if undeclared:
            problems.append(f"user {user.name}: {', '.join(undeclared[:4])}")
        elif declared:
            minor.append(f"user {user.name}: declared dangerous commands {', '.join(declared[:4])}")
        elif user.all_keys:
            minor.append(f"user {user.name}: access to all keys (~*)")
        else:
            seen.append(f"user {user.name}: keys {' '.join(user.key_patterns)}")
    return judge("application users have no dangerous commands and scoped keys", problems, minor, seen)


@check(
    id="RDS-05",
    title="enable-protected-configs, enable-debug-command, enable-module-command are no",
    category="redis",
    severity="high",
    rationale="These let a client rewrite protected paths, run DEBUG or load native modules (remote code execution).",
    remediation="Set all three to 'no' in redis.conf (Redis >= 7 defaults) and restart.",
    references=(REDIS_SECURITY, "redis.conf (Redis 7)"),
    fix_role="redis",
    fix_tag="redis_config",
)
def rds_protected_configs(facts: Facts) -> Result:
    """Inspects: enable-protected-configs, enable-debug-command, enable-module-command (Redis 7 default no).

    pass: all no; fail otherwise.
    """
    info, skip = _redis_or_na(facts)
    if skip:
        return skip
    names = ("enable-protected-configs", "enable-debug-command", "enable-module-command")
    problems = [info.config.evidence(n) for n in names if (info.config.get(n) or "no").lower() != "no"]
    return judge(
        "protected configs, DEBUG and MODULE disabled", problems, seen=[info.config.evidence(n) for n in names]
    )


@check(
    id="RDS-06",
    title="Runs as the redis user; config and ACL files 0640 or stricter",
    category="redis",
    severity="high",
    rationale="Redis as root turns CONFIG SET dir/dbfilename abuse into root file writes; readable config "
    "and ACL files leak credentials.",
    remediation="Run under the redis account (Debian unit default) and chmod 0640 redis.conf and the ACL file, "
    "owned by redis or root.",
    references=(f"{CIS_REDIS} 1.x", REDIS_SECURITY),
    fix_role="redis",
    fix_tag="redis_config",
)
@doubted_by("ps", hides=lambda line: "redis" in line.text)
def rds_user_and_files(facts: Facts) -> Result:
    """Inspects: redis-server process uid; stat() of config, includes and ACL file.

    pass: not root, files ≤ 0640 owned by redis or root; fail otherwise.
    """
    info, skip = _redis_or_na(facts)
    if skip:
        return skip
    problems, seen = [], []
    running = [p for p in processes(facts) if p.command == "redis-server"]
    for process in running:
        owner = name_of_uid(facts, process.uid)
        seen.append(f"redis-server pid {process.pid} runs as {owner}")
        if process.uid == 0:
            problems.append(f"redis-server pid {process.pid} runs as root")
    paths = [*info.files, *([info.acl_source] if info.acl_source not in info.files else [])]
    for path in paths:
        st = facts.stat(path)
        if st is None:
            continue
        seen.append(describe(st))
        if st.mode & 0o137 or st.owner not in ("redis", "root"):
            problems.append(f"{describe(st)}: should be 0640 or stricter, owned by redis or root")
    return judge("redis runs unprivileged with private config files", problems, seen=seen)
