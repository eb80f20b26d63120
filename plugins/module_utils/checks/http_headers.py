"""HTTP header pack (HDR-01..06): the headers nginx adds, judged per serving location.

nginx's ``add_header`` is inherited only by levels that declare none of their own, so a
location with a single ``add_header Cache-Control`` silently drops every security header
of its server; judging the *effective* set per location catches exactly that. Headers
sent by the backend are seen by the live probe, merged under the same ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import judge
from ansible_collections.rampart.hardening.plugins.module_utils.exposure import accept_declared
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nginx import (
    Context,
    Directive,
    is_tls_server,
    location_ifs,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.nginx import (
    nginx,
    public_servers,
    serving_contexts,
)
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

OWASP = "OWASP Secure Headers Project (https://owasp.org/www-project-secure-headers/)"
ADD_HEADER = "https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header"
HSTS_GOOD = 63072000
HSTS_MINIMUM = 15768000
# One problem found in one context: (is_fatal, text).
Finding = tuple[bool, str]


def effective_headers(context: Context) -> dict[str, Directive]:
    """Lower-cased header name -> the add_header in effect at ``context``.

    An add_header whose value is empty sends nothing (ngx_http_add_header skips empty values),
    so ``add_header Content-Security-Policy "";`` in a location removes the header there.
    """
    return {d.args[0].lower(): d for d in context.nearest("add_header") if len(d.args) > 1 and d.args[1] != ""}


def header_value(directive: Directive) -> str:
    return directive.args[1] if len(directive.args) > 1 else ""


def has_always(directive: Directive) -> bool:
    return directive.args[-1:] == ("always",)


def _contexts(facts: Facts, tls_only: bool) -> list[Context] | None:
    info = nginx(facts)
    if info is None:
        return None
    servers = [s for s in public_servers(info) if is_tls_server(s.block) or not tls_only]
    contexts = [context for server in servers for context in serving_contexts(server)]
    # A location's ``if`` that serves (does not just return) is judged with its own header set.
    return [*contexts, *(i for c in contexts for i in location_ifs(c) if not i.block.find("return"))]


def _evaluate(facts: Facts, tls_only: bool, ok: str, judge_one: Callable[[Context], list[Finding]]) -> Result:
    contexts = _contexts(facts, tls_only)
    if contexts is None:
        return not_applicable("nginx is not installed")
    if not contexts:
        return not_applicable("nginx serves no content (only redirects or refusals)")
    problems, minor, seen = [], [], []
    for context in contexts:
        findings = judge_one(context)
        problems += [f"{context.label()}: {text}" for fatal, text in findings if fatal]
        minor += [f"{context.label()}: {text}" for fatal, text in findings if not fatal]
        if not findings:
            seen.append(f"{context.label()}: ok")
    return judge(ok, problems, minor, seen)


def _always_note(directive: Directive) -> list[Finding]:
    if has_always(directive):
        return []
    return [(False, f"{directive.evidence()} lacks 'always' (not sent on 4xx/5xx)")]


def sent_headers(context: Context, name: str) -> list[Directive]:
    """Every non-empty ``add_header name`` in effect at ``context``, in the order nginx sends them."""
    return [d for d in context.nearest("add_header") if d.args and d.args[0].lower() == name and header_value(d) != ""]


def hsts_max_age(value: str) -> int | None:
    """max-age of a Strict-Transport-Security value as a browser reads it, None when it ignores the field.

    RFC 6797 6.1: directive names are case-insensitive (``Max-Age``), a value may be a
    quoted-string (``max-age="63072000"``), spaces may surround ``=``, and a field with a
    directive twice (or without a numeric max-age) does not conform and is ignored (8.1).
    """
    ages = []
    for part in value.split(";"):
        name, _sep, raw = part.partition("=")
        if name.strip().lower() == "max-age":
            ages.append(raw.strip().removeprefix('"').removesuffix('"'))
    if len(ages) != 1 or not ages[0].isdigit():
        return None
    return int(ages[0])


def _hsts(context: Context) -> list[Finding]:
    fields = sent_headers(context, "strict-transport-security")
    if not fields:
        return [(True, "no Strict-Transport-Security")]
    # RFC 6797 8.1: with several STS header fields a browser processes only the first one.
    directive = fields[0]
    age = hsts_max_age(header_value(directive))
    if age is None:
        return [(True, f"{directive.evidence()}: no single numeric max-age, browsers ignore it")]
    if age < HSTS_MINIMUM:
        return [(True, f"HSTS max-age {age} < {HSTS_MINIMUM} ({directive.where})")]
    findings = _always_note(directive)
    if age < HSTS_GOOD:
        findings.append((False, f"HSTS max-age {age} < {HSTS_GOOD} ({directive.where})"))
    return findings


@check(
    id="HDR-01",
    title="HSTS max-age ≥ 2 years, sent with always",
    category="http_headers",
    severity="high",
    rationale="Strict-Transport-Security stops SSL-stripping after the first visit; a short max-age or a "
    "header missing on error responses weakens it.",
    remediation='add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always; in every '
    "TLS server, and repeat it in any location that declares its own add_header.",
    references=(OWASP, "RFC 6797", "Mozilla Web Security Guidelines: HSTS", ADD_HEADER),
    fix_role="nginx",
    fix_tag="nginx_headers",
)
def hdr_hsts(facts: Facts) -> Result:
    """Inspects: Effective add_header set of every serving location of TLS servers (a location's own add_header
    replaces the inherited set).

    pass: Strict-Transport-Security max-age ≥ 63072000 with `always`; partial: max-age ≥ 15768000 or no
    `always`; fail: missing, max-age < 15768000 or not readable by browsers. With several STS headers the first
    one counts (RFC 6797 8.1); directive names are case-insensitive and values may be quoted.
    """
    result = _evaluate(facts, True, f"HSTS max-age ≥ {HSTS_GOOD} with always everywhere", _hsts)
    return accept_declared(intent(facts, "nginx"), "HDR-01", result)  # rampart_nginx_accepted_exceptions


def _simple_header(name: str, valid: Callable[[str], bool]) -> Callable[[Context], list[Finding]]:
    def judge_one(context: Context) -> list[Finding]:
        directive = effective_headers(context).get(name)
        if directive is None:
            return [(True, f"no {name}")]
        if not valid(header_value(directive)):
            return [(True, f"{directive.evidence()}: unexpected value")]
        return _always_note(directive)

    return judge_one


@check(
    id="HDR-02",
    title="X-Content-Type-Options: nosniff",
    category="http_headers",
    severity="medium",
    rationale="Without nosniff browsers may execute uploaded or mislabelled content as script.",
    remediation='add_header X-Content-Type-Options "nosniff" always;',
    references=(OWASP, ADD_HEADER),
    fix_role="nginx",
    fix_tag="nginx_headers",
)
def hdr_nosniff(facts: Facts) -> Result:
    """Inspects: Effective add_header set of every serving location.

    pass: X-Content-Type-Options nosniff with always; partial: without always; fail: missing or another value.
    """
    judge_one = _simple_header("x-content-type-options", lambda v: v.lower() == "nosniff")
    return _evaluate(facts, False, "nosniff everywhere", judge_one)


def frame_ancestors(policy: str) -> list[str] | None:
    """Source list of a CSP's frame-ancestors directive, None when the policy has none.

    CSP3 parsing: directives split on ``;``, names compared case-insensitively
    (``FRAME-ANCESTORS``), and only the first occurrence of a directive counts.
    """
    for part in policy.split(";"):
        tokens = part.split()
        if tokens and tokens[0].lower() == "frame-ancestors":
            return tokens[1:]
    return None


def _any_site(source: str) -> bool:
    """Whether one frame-ancestors source matches every site: ``*``, a bare scheme (``https:``)
    or a wildcard host (``https://*``). ``*.example.test`` only covers subdomains."""
    lowered = source.lower()
    if lowered == "*" or re.fullmatch(r"[a-z][a-z0-9+.-]*:", lowered):
        return True
    host = lowered.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host == "*"


def _framing(context: Context) -> list[Finding]:
    headers = effective_headers(context)
    # Every CSP header is enforced (the strictest wins), so one restrictive frame-ancestors suffices.
    for csp in sent_headers(context, "content-security-policy"):
        sources = frame_ancestors(header_value(csp))
        if sources is not None and not any(_any_site(source) for source in sources):
            return _always_note(csp)
    xfo = headers.get("x-frame-options")
    if xfo is not None and header_value(xfo).upper() in ("DENY", "SAMEORIGIN"):
        return _always_note(xfo)
    return [(True, "neither X-Frame-Options DENY/SAMEORIGIN nor a CSP frame-ancestors that lists the allowed sites")]


@check(
    id="HDR-03",
    title="Framing denied (X-Frame-Options or CSP frame-ancestors)",
    category="http_headers",
    severity="medium",
    rationale="Pages that can be framed by any site are open to clickjacking.",
    remediation="add_header X-Frame-Options \"DENY\" always; or a CSP with frame-ancestors 'none'.",
    references=(OWASP, "https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/frame-ancestors"),
    fix_role="nginx",
    fix_tag="nginx_headers",
)
def hdr_framing(facts: Facts) -> Result:
    """Inspects: Effective add_header set of every serving location.

    pass: X-Frame-Options DENY/SAMEORIGIN or a CSP frame-ancestors naming the allowed sites; partial: without
    always; fail: neither (a frame-ancestors of `*`, a bare scheme or `https://*` allows every site).
    """
    return _evaluate(facts, False, "framing denied everywhere", _framing)


def _csp_referrer(context: Context) -> list[Finding]:
    headers = effective_headers(context)
    findings: list[Finding] = []
    csp = headers.get("content-security-policy")
    if csp is not None:
        findings += _always_note(csp)
    elif "content-security-policy-report-only" in headers:
        findings.append((False, "CSP is report-only"))
    else:
        findings.append((True, "no Content-Security-Policy"))
    referrer = headers.get("referrer-policy")
    findings += _always_note(referrer) if referrer is not None else [(True, "no Referrer-Policy")]
    return findings


@check(
    id="HDR-04",
    title="Content-Security-Policy and Referrer-Policy present",
    category="http_headers",
    severity="medium",
    rationale="CSP limits the damage of injected script; Referrer-Policy keeps URLs (tokens, ids) from "
    "leaking to other sites.",
    remediation="add_header Content-Security-Policy \"default-src 'self'; frame-ancestors 'none'\" always; "
    'add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
    references=(OWASP, "https://www.w3.org/TR/CSP3/", ADD_HEADER),
    fix_role="nginx",
    fix_tag="nginx_headers",
)
def hdr_csp(facts: Facts) -> Result:
    """Inspects: Effective add_header set of every serving location.

    pass: Content-Security-Policy and Referrer-Policy present; partial: CSP report-only or no always; fail:
    either missing.
    """
    return _evaluate(facts, False, "CSP and Referrer-Policy everywhere", _csp_referrer)


COOKIE_FLAGS = ("secure", "httponly", "samesite")


PROTECTIVE_SAMESITE = ("lax", "strict")


def cookie_attributes(value: str) -> dict[str, str]:
    """Set-Cookie attributes after the name=value pair: {lower-cased name: lower-cased value}.

    RFC 6265 5.2: attributes follow the first ``;`` and their names are case-insensitive, so
    ``Path=/secure-area`` or a cookie called ``httponly_secure`` carries none of the flags.
    """
    attributes = {}
    for part in value.split(";")[1:]:
        name, _sep, raw = part.partition("=")
        attributes[name.strip().lower()] = raw.strip().lower()
    return attributes


def _missing_cookie_flags(attributes: dict[str, str]) -> list[str]:
    missing = [name for name in ("secure", "httponly") if name not in attributes]
    # SameSite=None explicitly opts out of the cross-site protection.
    if attributes.get("samesite") not in PROTECTIVE_SAMESITE:
        missing.append("samesite")
    return missing


def _proxy_cookie_findings(context: Context) -> list[Finding]:
    """proxy_cookie_flags words are exact: ``nosecure``, ``nohttponly`` and ``nosamesite`` REMOVE
    the flag the backend set, and ``samesite=none`` sets the opt-out."""
    words = {a.lower() for d in context.nearest("proxy_cookie_flags") for a in d.args[1:]}
    stripped = sorted(words & {"nosecure", "nohttponly", "nosamesite", "samesite=none"})
    if stripped:
        return [(True, f"proxy_cookie_flags {' '.join(stripped)} strips the backend's cookie protection")]
    missing = [name for name in ("secure", "httponly") if name not in words]
    missing += [] if words & {f"samesite={v}" for v in PROTECTIVE_SAMESITE} else ["samesite"]
    if missing:
        return [(False, f"proxied cookies not forced to {', '.join(missing)} (backend must set them)")]
    return []


def _cookie_flags(context: Context) -> list[Finding]:
    findings: list[Finding] = []
    cookie = effective_headers(context).get("set-cookie")
    if cookie is not None:
        missing = _missing_cookie_flags(cookie_attributes(header_value(cookie)))
        findings += [(True, f"{cookie.evidence()} lacks {', '.join(missing)}")] if missing else []
    if context.block.find("proxy_pass"):
        findings += _proxy_cookie_findings(context)
    return findings


@check(
    id="HDR-05",
    title="Cookies set through the proxy carry Secure, HttpOnly, SameSite",
    category="http_headers",
    severity="medium",
    rationale="Session cookies without Secure leak over HTTP, without HttpOnly to injected script, "
    "without SameSite to cross-site requests.",
    remediation="proxy_cookie_flags ~ secure httponly samesite=lax; in proxied locations (nginx >= 1.19.3), "
    "and set the flags in the application.",
    references=(OWASP, "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_cookie_flags"),
    fix_role="nginx",
    fix_tag="nginx_headers",
)
def hdr_cookies(facts: Facts) -> Result:
    """Inspects: proxy_cookie_flags of proxied locations; any `add_header Set-Cookie`.

    pass: secure, httponly and samesite=lax/strict enforced; partial: proxied cookies not forced (the backend
    must set them, checked live); fail: Set-Cookie added by nginx without the flags (attributes, not words in
    the value; SameSite=None counts as missing), or proxy_cookie_flags that strip them (nosecure, nohttponly,
    nosamesite, samesite=none); n/a: nothing proxied.
    """
    contexts = _contexts(facts, False)
    if contexts is not None and not any(
        c.block.find("proxy_pass") or "set-cookie" in effective_headers(c) for c in contexts
    ):
        return not_applicable("no proxied location and no Set-Cookie added by nginx")
    return _evaluate(facts, False, "cookie flags enforced at the edge", _cookie_flags)


def _cors(context: Context) -> list[Finding]:
    headers = effective_headers(context)
    origin = headers.get("access-control-allow-origin")
    if origin is None:
        return []
    value = header_value(origin)
    allow_credentials = headers.get("access-control-allow-credentials")
    credentials = allow_credentials is not None and header_value(allow_credentials).lower() == "true"
    if value == "*" and credentials:
        return [(True, f"{origin.evidence()} with Allow-Credentials true")]
    if value in ("$http_origin", "${http_origin}"):
        return [(True, f"{origin.evidence()} reflects any Origin")]
    if value == "*":
        return [(False, f"{origin.evidence()}: any origin (no allowlist)")]
    return []


@check(
    id="HDR-06",
    title="CORS: no wildcard or reflected origin with credentials",
    category="http_headers",
    severity="medium",
    rationale="Access-Control-Allow-Origin '*' or a reflected Origin combined with credentials lets any site "
    "read authenticated responses.",
    remediation='Allow only listed origins (map $http_origin $cors_origin { "https://app.example" $http_origin; }) '
    "and never combine '*' with Access-Control-Allow-Credentials.",
    references=(OWASP, "https://developer.mozilla.org/docs/Web/HTTP/CORS"),
    fix_role="nginx",
    fix_tag="nginx_headers",
)
def hdr_cors(facts: Facts) -> Result:
    """Inspects: Access-Control-Allow-Origin / -Credentials in the effective header sets.

    pass: no CORS headers or an allowlisted origin variable; partial: `*` without credentials; fail: `*` with
    credentials or a reflected $http_origin.
    """
    return _evaluate(facts, False, "no permissive CORS", _cors)
