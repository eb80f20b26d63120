"""Rate limiting and request limits pack (DOS-01..06), judged per public serving location."""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import doubted_by, judge
from ansible_collections.rampart.hardening.plugins.module_utils.exposure import (
    accept_declared,
    accepted_exceptions,
    accepted_result,
    merged_exception,
    split_accepted,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nginx import (
    Context,
    NginxConfig,
    directive_option,
    flag,
    parse_rate,
    parse_size,
    parse_time,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.firewall import ruleset
from ansible_collections.rampart.hardening.plugins.module_utils.probes.nginx import (
    is_admin,
    is_auth,
    nginx,
    public_servers,
    serving_contexts,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes.sockets import exposed
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import active
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

LIMIT_REQ = "https://nginx.org/en/docs/http/ngx_http_limit_req_module.html"
LIMIT_CONN = "https://nginx.org/en/docs/http/ngx_http_limit_conn_module.html"
CORE = "https://nginx.org/en/docs/http/ngx_http_core_module.html"
OWASP_DOS = "OWASP Denial of Service Cheat Sheet"
MAX_TIMEOUT = 10.0
MAX_HEADER_BUFFERS = 4 * 16 * 1024
CLIENT_KEYS = ("$binary_remote_addr", "$remote_addr")
TIMEOUTS = ("client_header_timeout", "client_body_timeout", "send_timeout", "keepalive_timeout")
DEFAULT_TIMEOUTS = {"client_header_timeout": 60.0, "client_body_timeout": 60.0, "send_timeout": 60.0}


def _serving(facts: Facts) -> tuple[NginxConfig | None, list[Context], Result | None]:
    info = nginx(facts)
    if info is None:
        return None, [], not_applicable("nginx is not installed")
    contexts = [c for server in public_servers(info) for c in serving_contexts(server)]
    if not contexts:
        return info.config, [], not_applicable("nginx serves no public content")
    return info.config, contexts, None


def _class_target(facts: Facts, context: Context) -> str | None:
    """``class:<name>`` of the location the nginx role declared for ``context`` (None when not the role's)."""
    server, location = context.server, context.location
    if server is None or location is None or not location.args:
        return None
    names = {a for d in server.find("server_name") for a in d.args}
    modifier = location.args[0] if len(location.args) > 1 else ""
    for site in intent(facts, "nginx").get("sites") or []:
        if not isinstance(site, dict) or not names & set(site.get("server_names") or []):
            continue
        for declared in site.get("locations") or []:
            if not isinstance(declared, dict):
                continue
            if declared.get("path") == location.args[-1] and (declared.get("modifier") or "") == modifier:
                return f"class:{declared.get('class')}"
    return None


def _judge_per_class(
    facts: Facts,
    check_id: str,
    ok: str,
    *,
    problems: list[tuple[str | None, str]],
    minor: list[tuple[str | None, str]],
    seen: list[str],
) -> Result:
    """judge(), with the nginx intent's accepted exceptions applied per location class.

    The per-check form (``{DOS-02: {reason}}``, deprecated) still accepts every location; an entry
    ``{check: DOS-02, target: "class:downloads", reason}`` accepts only the locations of that class.
    """
    data = intent(facts, "nginx")
    if check_id in accepted_exceptions(data):  # rampart_nginx_accepted_exceptions, per-check form
        result = judge(ok, [text for _where, text in problems], [text for _where, text in minor], seen)
        return accept_declared(data, check_id, result)
    failing, accepted = split_accepted(data, check_id, problems)
    minor_failing, minor_accepted = split_accepted(data, check_id, minor)
    accepted += minor_accepted
    if accepted and not failing and not minor_failing:
        return accepted_result(check_id, merged_exception(accepted), [text for _where, text in accepted], seen)
    return judge(ok, failing, minor_failing, [f"accepted exception: {text}" for _where, text in accepted] + seen)


def zones(config: NginxConfig, directive: str) -> dict[str, tuple[str, str]]:
    """zone name -> (key, rate or size) of limit_req_zone / limit_conn_zone."""
    found = {}
    http = config.http
    for zone in http.find(directive) if http else []:
        name = directive_option(zone, "zone")
        if name:
            found[name.split(":")[0]] = (zone.args[0] if zone.args else "", directive_option(zone, "rate") or "")
    return found


def _rate(zones_by_name: dict[str, tuple[str, str]], name: str) -> float | None:
    try:
        return parse_rate(zones_by_name[name][1])
    except (KeyError, ParseError):
        return None


def _req_zone_rates(config: NginxConfig, context: Context) -> list[float]:
    req_zones = zones(config, "limit_req_zone")
    rates = []
    for directive in context.nearest("limit_req"):
        rate = _rate(req_zones, directive_option(directive, "zone") or "")
        if rate is not None:
            rates.append(rate)
    return rates


def _dry_run(context: Context, name: str) -> str | None:
    """Why the limits here limit nothing: ``limit_req_dry_run on`` / ``limit_conn_dry_run on``
    (inherited, any case) only counts excess requests, it rejects none."""
    directive = context.value(name)
    if flag(directive):
        return f"limits in dry-run mode, nothing is rejected ({directive.evidence()})"
    return None


@check(
    id="DOS-01",
    title="limit_req on every public location; stricter on admin/auth paths",
    category="rate_limiting",
    severity="high",
    rationale="Without request-rate limits one client can exhaust the backend; login and admin endpoints "
    "need tighter limits against credential stuffing.",
    remediation="Define 'limit_req_zone $binary_remote_addr zone=general:10m rate=20r/s;' and a stricter "
    "zone for auth paths, then 'limit_req zone=... burst=...' in every location.",
    references=(LIMIT_REQ, OWASP_DOS, "CIS NGINX Benchmark 2.1.0 5.2.4"),
    fix_role="nginx",
    fix_tag="nginx_rate_limits",
)
def dos_limit_req(facts: Facts) -> Result:
    """Inspects: Effective limit_req (and limit_req_dry_run) per public serving location; limit_req_zone rates.

    pass: every location limited and admin/auth paths use a lower rate; partial: admin/auth not stricter; fail:
    a location without limit_req, with an undefined zone, or in dry-run mode.
    """
    config, contexts, skip = _serving(facts)
    if skip:
        return skip
    general = [r for c in contexts if not (is_admin(c) or is_auth(c)) for r in _req_zone_rates(config, c)]
    ceiling = min(general) if general else None
    problems: list[tuple[str | None, str]] = []
    minor: list[tuple[str | None, str]] = []
    seen: list[str] = []
    for context in contexts:
        rates = _req_zone_rates(config, context)
        limits = context.nearest("limit_req")
        target = _class_target(facts, context)
        if not limits:
            problems.append((target, f"{context.label()}: no limit_req"))
            continue
        if not rates:
            problems.append((target, f"{context.label()}: limit_req zone not defined ({limits[0].evidence()})"))
            continue
        dry_run = _dry_run(context, "limit_req_dry_run")
        if dry_run:
            problems.append((target, f"{context.label()}: {dry_run}"))
            continue
        seen.append(f"{context.label()}: {limits[0].evidence()}")
        sensitive = is_admin(context) or is_auth(context)
        if sensitive and ceiling is not None and min(rates) >= ceiling:
            minor.append((None, f"{context.label()}: admin/auth path not stricter than the general rate"))
    ok = "every public location is rate limited, auth paths stricter"
    return _judge_per_class(facts, "DOS-01", ok, problems=problems, minor=minor, seen=seen)


@check(
    id="DOS-02",
    title="limit_conn per client address",
    category="rate_limiting",
    severity="medium",
    rationale="Connection limits per client stop a single address from holding every worker connection "
    "(slowloris-style exhaustion).",
    remediation="'limit_conn_zone $binary_remote_addr zone=perip:10m;' in http and 'limit_conn perip 20;' in "
    "each server.",
    references=(LIMIT_CONN, OWASP_DOS),
    fix_role="nginx",
    fix_tag="nginx_rate_limits",
)
def dos_limit_conn(facts: Facts) -> Result:
    """Inspects: Effective limit_conn per public serving location and the key of its limit_conn_zone.

    pass: every location limited by a zone keyed on $binary_remote_addr/$remote_addr (not in dry-run mode); fail
    otherwise.
    """
    config, contexts, skip = _serving(facts)
    if skip:
        return skip
    conn_zones = zones(config, "limit_conn_zone")
    problems: list[tuple[str | None, str]] = []
    seen: list[str] = []
    for context in contexts:
        limits = context.nearest("limit_conn")
        keyed = [d for d in limits if d.args and conn_zones.get(d.args[0], ("", ""))[0] in CLIENT_KEYS]
        dry_run = _dry_run(context, "limit_conn_dry_run")
        if keyed and dry_run:
            problems.append((_class_target(facts, context), f"{context.label()}: {dry_run}"))
        elif keyed:
            seen.append(f"{context.label()}: {keyed[0].evidence()}")
        else:
            text = f"{context.label()}: no limit_conn keyed on the client address"
            problems.append((_class_target(facts, context), text))
    ok = "every public location limits connections per client"
    return _judge_per_class(facts, "DOS-02", ok, problems=problems, minor=[], seen=seen)


def _body_limit(context: Context) -> tuple[str | None, str]:
    directive = context.value("client_max_body_size")
    if directive is None:
        return f"{context.label()}: client_max_body_size not set (implicit 1m)", ""
    try:
        size = parse_size(directive.args[0]) if directive.args else 0
    except ParseError:
        return f"{context.label()}: {directive.evidence()}: unreadable size", ""
    if size == 0:  # '0', '0k', '0m' and '00' all disable the check in nginx
        return f"{context.label()}: {directive.text()} (unlimited) at {directive.where}", ""
    return None, f"{context.label()}: {directive.evidence()}"


def _header_buffers(context: Context) -> str | None:
    directive = context.value("large_client_header_buffers")
    if directive is None or len(directive.args) < 2:
        return None
    try:
        total = int(directive.args[0]) * parse_size(directive.args[1])
    except (ValueError, ParseError):
        return f"{directive.evidence()}: unreadable size"
    return f"{directive.evidence()}: {total // 1024}k of header buffers" if total > MAX_HEADER_BUFFERS else None


@check(
    id="DOS-03",
    title="client_max_body_size explicit per location class; header buffers bounded",
    category="rate_limiting",
    severity="medium",
    rationale="Explicit body limits per location stop oversized uploads from tying up workers and disk; "
    "unbounded header buffers let clients consume memory.",
    remediation="Set client_max_body_size in http and tighten it per location (e.g. 16k on login); keep "
    "large_client_header_buffers at '4 8k'.",
    references=(f"{CORE}#client_max_body_size", OWASP_DOS),
    fix_role="nginx",
    fix_tag="nginx_rate_limits",
)
def dos_body_size(facts: Facts) -> Result:
    """Inspects: Effective client_max_body_size and large_client_header_buffers per public serving location.

    pass: body size explicit and non-zero, header buffers ≤ 64k total; partial: larger header buffers; fail:
    body size implicit or 0.
    """
    _unused, contexts, skip = _serving(facts)
    if skip:
        return skip
    problems: list[tuple[str | None, str]] = []
    minor: list[tuple[str | None, str]] = []
    seen: list[str] = []
    for context in contexts:
        problem, note = _body_limit(context)
        problems += [(_class_target(facts, context), problem)] if problem else []
        seen += [note] if note else []
        buffers = _header_buffers(context)
        minor += [(None, f"{context.label()}: {buffers}")] if buffers else []
    ok = "body size explicit everywhere and header buffers bounded"
    return _judge_per_class(facts, "DOS-03", ok, problems=problems, minor=minor, seen=seen)


def _timeout_problems(context: Context) -> list[str]:
    problems = []
    for name in TIMEOUTS:
        directive = context.value(name)
        if directive is None:
            seconds = DEFAULT_TIMEOUTS.get(name, 75.0)
            where = f"{name} not set (default {seconds:g}s)"
        else:
            try:
                seconds = parse_time(directive.args[0]) if directive.args else 0.0
            except ParseError:
                problems.append(f"{directive.evidence()}: unreadable time")
                continue
            where = directive.evidence()
        if seconds > MAX_TIMEOUT:
            problems.append(f"{context.label()}: {where} > {MAX_TIMEOUT:g}s")
        elif name == "keepalive_timeout" and seconds == 0:
            problems.append(f"{context.label()}: keepalive disabled ({where})")
    return problems


@check(
    id="DOS-04",
    title="Client header/body/send timeouts ≤ 10 s; keepalive ≤ 10 s and not 0",
    category="rate_limiting",
    severity="low",
    rationale="Long timeouts let slow clients hold connections open (slowloris); keepalive 0 costs a TLS "
    "handshake per request.",
    remediation="client_header_timeout 10s; client_body_timeout 10s; send_timeout 10s; keepalive_timeout 10s;",
    references=(f"{CORE}#client_header_timeout", "CIS NGINX Benchmark 2.1.0 5.2.1"),
    fix_role="nginx",
    fix_tag="nginx_rate_limits",
)
def dos_timeouts(facts: Facts) -> Result:
    """Inspects: Effective client_header_timeout, client_body_timeout, send_timeout, keepalive_timeout (nginx
    defaults when unset).

    pass: all ≤ 10 s and keepalive not 0; fail otherwise.
    """
    _unused, contexts, skip = _serving(facts)
    if skip:
        return skip
    problems = [p for context in contexts for p in _timeout_problems(context)]
    return judge("all client timeouts ≤ 10 s", problems, seen=[f"{len(contexts)} serving location(s) checked"])


def _restricts_methods(context: Context) -> bool:
    if context.block.find("limit_except"):
        return True
    for block in context.chain:
        for condition in block.find("if"):
            if "$request_method" in " ".join(condition.args) and condition.find("return"):
                return True
    return False


@check(
    id="DOS-05",
    title="Only the needed HTTP methods are allowed",
    category="rate_limiting",
    severity="low",
    rationale="Unused methods (PUT, DELETE, TRACE, PROPFIND...) widen the attack surface of the backend.",
    remediation="In each location: 'limit_except GET HEAD POST { deny all; }' (or a server-level "
    "'if ($request_method !~ ^(GET|HEAD|POST)$) { return 405; }').",
    references=(f"{CORE}#limit_except", "CIS NGINX Benchmark 2.1.0 5.1.2"),
    fix_role="nginx",
    fix_tag="nginx_rate_limits",
)
def dos_methods(facts: Facts) -> Result:
    """Inspects: limit_except in each location or an `if ($request_method ...) { return ...; }` in its chain.

    pass: every location restricts methods; partial: some; fail: none.
    """
    _unused, contexts, skip = _serving(facts)
    if skip:
        return skip
    open_contexts = [c.label() for c in contexts if not _restricts_methods(c)]
    if len(open_contexts) == len(contexts):
        return judge("", [f"{label}: every HTTP method accepted" for label in open_contexts])
    minor = [f"{label}: every HTTP method accepted" for label in open_contexts]
    return judge("methods restricted on every location", [], minor, [f"{len(contexts)} location(s) checked"])


def _nginx_auth_protection(facts: Facts) -> tuple[bool | None, str]:
    info = nginx(facts)
    if info is None:
        return None, "nginx not installed"
    sensitive = [c for s in public_servers(info) for c in serving_contexts(s) if is_admin(c) or is_auth(c)]
    if not sensitive:
        return None, "no login/admin location in nginx"
    unprotected = [
        c.label() + (" (limit_req_dry_run on)" if c.nearest("limit_req") else "")
        for c in sensitive
        if not c.nearest("limit_req") or _dry_run(c, "limit_req_dry_run")
    ]
    if unprotected:
        return False, f"login/admin location without limit_req: {', '.join(unprotected)}"
    return True, f"{len(sensitive)} login/admin location(s) rate limited"


def _ssh_protection(facts: Facts) -> tuple[bool | None, str]:
    ssh_exposed = [item for item in exposed(facts) if item.port == 22 or item.process == "sshd"]
    if not ssh_exposed:
        return None, "sshd not reachable from the network"
    if active(facts, "fail2ban.service"):
        return True, "fail2ban active"
    rules = ruleset(facts)
    if rules is not None:
        limited = [r for c in rules.base_chains("input") for r in rules.reachable_rules(c) if r.rate_limited]
        if any(r.dports is not None and r.matches_port(22) for r in limited):
            return True, "nftables rate-limits new SSH connections"
    declared = intent(facts, "firewall").get("services") or []
    if any(isinstance(s, dict) and 22 in (s.get("ports") or []) and s.get("rate_limit") for s in declared):
        return False, "firewall intent declares an SSH rate limit but no nftables meter was found"
    return False, "sshd is exposed without fail2ban or an nftables rate limit"


CheckPart = Callable[[Facts], "tuple[bool | None, str]"]


@check(
    id="DOS-06",
    title="Brute-force protection on login paths and SSH",
    category="rate_limiting",
    severity="medium",
    rationale="Password guessing against web logins and SSH is constant on the Internet; throttling makes "
    "it impractical.",
    remediation="Rate-limit login/admin locations with a strict limit_req zone; for SSH enable fail2ban's sshd "
    "jail or an nftables meter ('tcp dport 22 ct state new meter ... limit rate over 10/minute drop').",
    references=(LIMIT_REQ, "https://wiki.nftables.org/wiki-nftables/index.php/Meters", "CIS Debian 12 5.2.x"),
    fix_role="firewall",
    fix_tag="firewall_rules",
)
@doubted_by("ss", "nft", absent_too=True)
def dos_bruteforce(facts: Facts) -> Result:
    """Inspects: limit_req (not in dry-run mode) on login/admin locations; for an exposed sshd: fail2ban active or
    an nftables rate limit on port 22.

    pass: every applicable part protected; partial: one part missing; fail: none protected; n/a: no login path
    and no exposed sshd.
    """
    parts: list[CheckPart] = [_nginx_auth_protection, _ssh_protection]
    outcomes = [part(facts) for part in parts]
    judged = [(ok, text) for ok, text in outcomes if ok is not None]
    notes = [text for _unused, text in outcomes]
    if not judged:
        return not_applicable("no login path and no exposed sshd", notes)
    failures = [text for ok, text in judged if not ok]
    if failures and len(failures) == len(judged):
        return judge("", failures, seen=notes)
    return judge("login paths and SSH are throttled", [], failures, notes)
