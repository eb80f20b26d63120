"""Authentication at the edge pack (AUTH-01..02): admin paths and htpasswd files."""

from __future__ import annotations

import re

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import judge
from ansible_collections.rampart.hardening.plugins.module_utils.exposure import accept_declared
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.htpasswd import parse_htpasswd
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nginx import (
    Context,
    Directive,
    allows_whole_family,
    listens,
    locations,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import describe
from ansible_collections.rampart.hardening.plugins.module_utils.probes.nginx import (
    is_admin,
    location_path,
    nginx,
    public_servers,
    serving_contexts,
)
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

AUTH_BASIC = "https://nginx.org/en/docs/http/ngx_http_auth_basic_module.html"
OWASP_PASSWORDS = "OWASP Password Storage Cheat Sheet"
HTPASSWD_GROUPS = ("root", "www-data", "nginx")


def _declared_admin_paths(facts: Facts) -> set[str]:
    """Paths of locations the nginx intent marks as authenticated or of an admin class."""
    paths = set()
    for site in intent(facts, "nginx").get("sites") or []:
        for location in site.get("locations") or [] if isinstance(site, dict) else []:
            if isinstance(location, dict) and (location.get("auth_group") or location.get("class") == "admin"):
                paths.add(str(location.get("path")))
    return paths


def _ip_families(context: Context) -> list[int]:
    """IP versions the server accepts connections on ([::] listens are IPv6, the others IPv4)."""
    server = context.server
    found = {6 if item.address.startswith("[") else 4 for item in listens(server)} if server is not None else set()
    return sorted(found) or [4, 6]


def _open_to_everyone(context: Context, rules: list[Directive], *, unmatched_allowed: bool) -> bool:
    return any(allows_whole_family(rules, v, unmatched_allowed=unmatched_allowed) for v in _ip_families(context))


def _protection(context: Context) -> tuple[str, str]:
    """('auth'|'ip'|'none', evidence).

    allow/deny follow nginx's access module: the innermost level with any allow/deny replaces
    its parent's list, the first matching rule wins, and unmatched clients get through. Under
    ``satisfy any`` a client the access rules allow skips authentication entirely.
    """
    rules = context.nearest_any(("allow", "deny"))
    satisfy = context.value("satisfy")
    satisfy_any = satisfy is not None and satisfy.args[:1] != () and satisfy.args[0].lower() == "any"
    if satisfy_any and rules and _open_to_everyone(context, rules, unmatched_allowed=False):
        return "none", f"{satisfy.evidence()} with allow rules matching every address: no credentials needed"
    kind, evidence = _authentication(context)
    if kind == "auth":
        return kind, evidence
    if rules and not _open_to_everyone(context, rules, unmatched_allowed=True):
        return "ip", "allow/deny " + "; ".join(d.text() for d in rules) + " (address allowlist only)"
    return "none", ""


def _authentication(context: Context) -> tuple[str, str]:
    """('auth', evidence) when a credential is required, else ('none', '')."""
    basic = context.value("auth_basic")
    if basic is not None and basic.args[:1] != ("off",) and context.value("auth_basic_user_file"):
        return "auth", basic.evidence()
    for name in ("auth_request", "auth_jwt"):
        found = context.value(name)
        if found is not None and found.args[:1] != ("off",):
            return "auth", found.evidence()
    verify = context.value("ssl_verify_client")
    if verify is not None and verify.args[:1] != () and verify.args[0].lower() == "on":  # an nginx enum: any case
        return "auth", verify.evidence()
    return "none", ""


PROTECTION = {"auth": "authentication", "ip": "the address allowlist"}
# Requests under an admin prefix that a server-level regex location typically catches.
BYPASS_SAMPLES = ("index.php", "x.php", "x.js", "x.css", "x.png", "x.html", "x.json", "x")


def _regex(location: Directive) -> re.Pattern[str] | None:
    """The compiled pattern of a ``~``/``~*`` location (None for other locations or a pattern
    Python cannot compile: such a location is not judged)."""
    if len(location.args) != 2 or location.args[0] not in ("~", "~*"):
        return None
    try:
        return re.compile(location.args[1], re.I if location.args[0] == "~*" else 0)
    except re.error:
        return None


def _first_regex_match(contexts: list[Context], uri: str) -> Context | None:
    for context in contexts:
        pattern = _regex(context.block)
        if pattern is not None and pattern.search(uri):
            return context
    return None


def _regex_bypasses(admin: Context, kind: str, serving: list[Context]) -> list[str]:
    r"""Regex locations that take requests under the plain prefix location ``admin`` without auth.

    nginx picks the longest matching prefix location, then checks regex locations (those nested
    in that prefix location first, then the server's, in file order) and the first matching regex
    wins, unless the prefix location is ``^~`` or ``=``. So ``location ~ \.php$`` without auth
    serves /admin/index.php although ``location /admin/`` requires a password. Only a regex
    location protected less than the admin location (``kind``) is a bypass.
    """
    location, server = admin.location, admin.server
    if location is None or server is None or len(location.args) != 1 or admin.chain[-2] is not server:
        return []  # '^~', '=' and regex admin locations are not overridden; nested ones are not judged here
    server_context = Context(admin.chain[:-1])
    server_level = [
        c for c in locations(server_context) if len(c.chain) == len(admin.chain) and c.block is not location
    ]
    nested = locations(admin)
    serving_blocks = {id(c.block) for c in serving}
    for sample in BYPASS_SAMPLES:
        uri = location.args[0].rstrip("/") + "/" + sample
        if _first_regex_match(nested, uri) is not None:
            continue  # a regex nested in the admin location wins and inherits its protection
        winner = _first_regex_match(server_level, uri)
        if winner is None or id(winner.block) not in serving_blocks:
            continue
        winner_kind = _protection(winner)[0]
        if winner_kind in ("auth", kind):
            continue
        return [f"{uri} is served by '{winner.block.text()}' ({winner.block.where}) without {PROTECTION[kind]}"]
    return []


@check(
    id="AUTH-01",
    title="Admin paths require authentication",
    category="authentication",
    severity="high",
    rationale="Administration endpoints reachable without credentials are the first thing scanners try.",
    remediation='In each admin location: \'auth_basic "Restricted"; auth_basic_user_file /etc/nginx/rampart/'
    "htpasswd/<group>;' (or auth_request to an SSO), optionally plus an allow-list of addresses.",
    references=(AUTH_BASIC, "OWASP ASVS 4.0 V4.1"),
    fix_role="nginx",
    fix_tag="nginx_auth",
)
def auth_admin_paths(facts: Facts) -> Result:
    """Inspects: Admin locations (by path, or marked admin/auth_group in the nginx intent): auth_basic+user file,
    auth_request, client certificates, allow/deny (first match wins; satisfy any), and server-level regex
    locations that win over a plain admin prefix location.

    pass: all authenticated; partial: address allowlist only; fail: open admin location (or allow rules letting
    every address through), a regex location serving its requests without authentication, or declared admin path
    missing; n/a: no admin location.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    declared = _declared_admin_paths(facts)
    contexts = [c for s in public_servers(info) for c in serving_contexts(s)]
    admin = [c for c in contexts if is_admin(c) or location_path(c) in declared]
    if not admin:
        return not_applicable("no admin location found (by path or in the nginx intent)")
    problems, minor, seen = [], [], []
    for context in admin:
        kind, evidence = _protection(context)
        bypasses = _regex_bypasses(context, kind, contexts) if kind != "none" else []
        if bypasses:
            problems += [f"{context.label()}: {text} (regex locations win over prefix ones)" for text in bypasses]
        elif kind == "auth":
            seen.append(f"{context.label()}: {evidence}")
        elif kind == "ip":
            minor.append(f"{context.label()}: {evidence}, no authentication")
        else:
            problems.append(f"{context.label()}: reachable without authentication")
    missing = declared - {location_path(c) for c in contexts}
    problems += [f"declared admin path {path} not found in nginx config" for path in sorted(missing)]
    result = judge("every admin location requires authentication", problems, minor, seen)
    return accept_declared(intent(facts, "nginx"), "AUTH-01", result)  # rampart_nginx_accepted_exceptions


def _htpasswd_problems(facts: Facts, path: str) -> tuple[list[str], list[str]]:
    text = facts.read_text(path)
    if text is None:
        return [f"{path}: auth_basic_user_file does not exist"], []
    try:
        entries = parse_htpasswd(text)
    except ParseError as exc:
        raise ProbeError(f"cannot parse {path}: {exc}") from exc
    problems = [f"{path}: user {e.user} uses {e.scheme}" for e in entries if not e.strong]
    seen = [f"{path}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"]
    st = facts.stat(path)
    if st is not None:
        seen.append(describe(st))
        if st.mode & 0o137 or st.owner != "root" or st.group not in HTPASSWD_GROUPS:
            problems.append(f"{describe(st)}: should be 0640 root:www-data or stricter")
    return problems, seen


@check(
    id="AUTH-02",
    title="htpasswd uses bcrypt/argon2/sha512-crypt; file 0640 root:www-data or stricter",
    category="authentication",
    severity="high",
    rationale="MD5-apr1, crypt, SHA1 and plain entries are cracked in minutes once the file leaks; a "
    "world-readable file leaks it.",
    remediation="Re-create entries with 'htpasswd -B' (bcrypt) or community.general.htpasswd crypt_scheme: "
    "bcrypt; chown root:www-data; chmod 0640.",
    references=(OWASP_PASSWORDS, AUTH_BASIC),
    fix_role="nginx",
    fix_tag="nginx_auth",
)
def auth_htpasswd(facts: Facts) -> Result:
    """Inspects: Every auth_basic_user_file: hash scheme per entry (never the hash itself) and stat().

    pass: bcrypt/argon2/yescrypt/sha512-crypt, mode ≤ 0640, owner root, group root/www-data; fail otherwise;
    n/a: no htpasswd.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    # Relative user files resolve under the conf prefix, as nginx opens them.
    paths = [
        info.config.file_path(d.args[0]) for d in info.config.walk() if d.name == "auth_basic_user_file" and d.args
    ]
    if not paths:
        return not_applicable("nginx uses no htpasswd file")
    problems, seen = [], []
    for path in dict.fromkeys(paths):
        found, noted = _htpasswd_problems(facts, path)
        problems += found
        seen += noted
    return judge("htpasswd hashes strong and files protected", problems, seen=seen)
