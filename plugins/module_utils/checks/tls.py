"""TLS pack (TLS-01..11): nginx's TLS endpoints as its configuration declares them.

Live handshakes (per protocol and cipher) are merged by the engine under the same ids.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import doubted_by, judge
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import (
    Result,
    failed,
    not_applicable,
    partial,
    passed,
)
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nginx import (
    Context,
    Directive,
    NginxConfig,
    canonical_protocol,
    flag,
    listens,
    location_ifs,
    locations,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.certificates import read_dh_bits
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import describe
from ansible_collections.rampart.hardening.plugins.module_utils.probes.nginx import (
    DEFAULT_CIPHERS,
    Cipher,
    NginxFacts,
    cipher_suites,
    default_protocols,
    nginx,
    redirects_to_https,
    refuses,
    tls_servers,
    validation,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import processes
from ansible_collections.rampart.hardening.plugins.module_utils.probes.users import accounts
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

MOZILLA = "Mozilla Server Side TLS 5.7 (https://wiki.mozilla.org/Security/Server_Side_TLS)"
NGINX_SSL = "nginx ngx_http_ssl_module (https://nginx.org/en/docs/http/ngx_http_ssl_module.html)"
CIS_NGINX = "CIS NGINX Benchmark 2.1.0"
ALLOWED_PROTOCOLS = {"TLSv1.2", "TLSv1.3"}
# Mozilla intermediate TLS 1.2 suites (OpenSSL names); the modern profile has none.
INTERMEDIATE_SUITES = frozenset(
    {
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-CHACHA20-POLY1305",
    }
)
WEAK_ENCRYPTION = re.compile(r"^(3DES|DES|RC4|RC2|IDEA|SEED|None)", re.I)
PRIVATE_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _tls_or_na(facts: Facts) -> tuple[NginxFacts | None, list[Context], Result | None]:
    info = nginx(facts)
    if info is None:
        return None, [], not_applicable("nginx is not installed")
    servers = tls_servers(info)
    if not servers:
        return info, [], not_applicable("nginx has no TLS server (no 'listen ... ssl')")
    return info, servers, None


def _protocols(info: NginxFacts, server: Context) -> tuple[tuple[str, ...], str]:
    """The protocols in effect for ``server`` and the evidence for them.

    ssl_protocols is a bitmask (ngx_conf_set_bitmask_slot): several lines at one level ADD UP,
    e.g. Debian's stock 'ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;' in nginx.conf plus a
    conf.d file's 'ssl_protocols TLSv1.2 TLSv1.3;' keep TLS 1.0/1.1 on. A level that has any
    line does not inherit its parent's. Names match case-insensitively ('tlsv1' is TLSv1).
    """
    directives = server.nearest("ssl_protocols")
    if not directives:
        return default_protocols(info), f"ssl_protocols not set: nginx {info.version_text()} default"
    names = (canonical_protocol(name) for d in directives for name in d.args)
    return tuple(dict.fromkeys(names)), " + ".join(d.evidence() for d in directives)


def _profile(facts: Facts) -> str:
    data = intent(facts, "nginx")
    return str(data.get("tls_profile") or (data.get("tls") or {}).get("profile") or "intermediate")


@check(
    id="TLS-01",
    title="Only TLS 1.2 and 1.3 are accepted",
    category="tls",
    severity="high",
    rationale="TLS 1.0 and 1.1 lack modern AEAD ciphers and are deprecated by RFC 8996; clients that "
    "still need them are a downgrade target.",
    remediation="Set 'ssl_protocols TLSv1.2 TLSv1.3;' in the http block (and remove older protocols from "
    "every server), then 'nginx -t && systemctl reload nginx'.",
    references=(MOZILLA, "RFC 8996", NGINX_SSL, f"{CIS_NGINX} 4.1.4"),
    fix_role="nginx",
    fix_tag="nginx_tls",
)
def tls_protocols(facts: Facts) -> Result:
    """Inspects: Effective ssl_protocols of every TLS server (nginx's version default when unset).

    pass: only TLSv1.2/TLSv1.3 (the union of every ssl_protocols line at the level in effect, as nginx ORs
    them); partial: TLSv1.2 enabled while the nginx intent declares the modern profile; fail: TLSv1/TLSv1.1 (or
    SSL) enabled.
    """
    info, servers, skip = _tls_or_na(facts)
    if skip:
        return skip
    modern = _profile(facts) == "modern"
    problems, minor, seen = [], [], []
    for server in servers:
        protocols, where = _protocols(info, server)
        seen.append(f"{server.label()}: {where}")
        legacy = sorted(set(protocols) - ALLOWED_PROTOCOLS)
        if legacy:
            problems.append(f"{server.label()} accepts {', '.join(legacy)}")
        elif modern and "TLSv1.2" in protocols:
            minor.append(f"{server.label()} accepts TLSv1.2 although the declared profile is modern")
    return judge("every TLS server accepts only TLS 1.2/1.3", problems, minor, seen)


def _judge_suite(suite: Cipher, allowed: frozenset[str]) -> tuple[str | None, str | None]:
    """(problem, minor) for one TLS 1.2 suite."""
    weak = (
        not suite.aead
        or WEAK_ENCRYPTION.match(suite.enc)
        or "EXP" in suite.name
        or suite.au == "None"
        or not suite.forward_secret
    )
    if weak:
        return f"{suite.name} (Kx={suite.kx} Enc={suite.enc} Mac={suite.mac})", None
    if suite.name not in allowed:
        return None, f"{suite.name} is outside the Mozilla profile"
    return None, None


@check(
    id="TLS-02",
    title="TLS 1.2 cipher suites are AEAD with forward secrecy (Mozilla profile)",
    category="tls",
    severity="high",
    rationale="CBC, RC4, 3DES, NULL and EXPORT suites and static-RSA key exchange are broken or lack "
    "forward secrecy; only ECDHE/DHE AEAD suites from the chosen Mozilla profile are acceptable.",
    remediation="Set ssl_ciphers to the Mozilla intermediate list (ECDHE-ECDSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305) and 'ssl_prefer_server_ciphers off;'.",
    references=(MOZILLA, NGINX_SSL, f"{CIS_NGINX} 4.1.5"),
    fix_role="nginx",
    fix_tag="nginx_tls",
)
def tls_ciphers(facts: Facts) -> Result:
    """Inspects: Effective ssl_ciphers of every TLS 1.2 server, expanded with the host's own `openssl ciphers -v`.

    pass: every TLS 1.2 suite is AEAD + ECDHE/DHE and in the Mozilla profile; partial: strong suites outside the
    profile; fail: any CBC, RC4, 3DES, NULL, EXPORT, anonymous or static-RSA suite.
    """
    info, servers, skip = _tls_or_na(facts)
    if skip:
        return skip
    allowed = frozenset() if _profile(facts) == "modern" else INTERMEDIATE_SUITES
    problems, minor, seen = [], [], []
    for server in servers:
        protocols, _unused = _protocols(info, server)
        if not set(protocols) - {"TLSv1.3"}:
            seen.append(f"{server.label()}: TLS 1.3 only, suites fixed by the protocol")
            continue
        directive = server.value("ssl_ciphers")
        cipher_string = directive.args[0] if directive and directive.args else DEFAULT_CIPHERS
        seen.append(f"{server.label()}: " + (directive.evidence() if directive else f"default {DEFAULT_CIPHERS}"))
        for suite in cipher_suites(facts, cipher_string):
            if suite.protocol == "TLSv1.3":
                continue
            problem, note = _judge_suite(suite, allowed)
            if problem:
                problems.append(f"{server.label()}: weak suite {problem}")
            if note:
                minor.append(f"{server.label()}: {note}")
    if not seen:
        return not_applicable("no TLS 1.2 endpoint")
    return judge("TLS 1.2 suites are AEAD + forward secret, within the profile", problems, minor, seen)


def _curve_problem(server: Context) -> tuple[str | None, str]:
    curve = server.value("ssl_ecdh_curve")
    if curve is None or curve.args[:1] == ("auto",):
        return None, "ssl_ecdh_curve auto (OpenSSL defaults include X25519)"
    groups = [g.lower() for g in curve.args[0].split(":")] if curve.args else []
    if "x25519" not in groups:
        return f"{server.label()}: ssl_ecdh_curve lacks X25519 ({curve.evidence()})", curve.evidence()
    return None, curve.evidence()


def _dh_problem(facts: Facts, config: NginxConfig, server: Context) -> str | None:
    dhparam = server.value("ssl_dhparam")
    if dhparam is None or not dhparam.args:
        return None  # without parameters nginx does not negotiate DHE at all
    bits = read_dh_bits(facts, config.file_path(dhparam.args[0]))
    return f"{server.label()}: DH parameters are {bits} bits (< 2048)" if bits < 2048 else None


def _ticket_problem(info: NginxFacts, server: Context) -> str | None:
    if info.version is None or info.version >= (1, 23, 2):
        return None  # nginx >= 1.23.2 rotates ticket keys itself
    if flag(server.value("ssl_session_tickets")) is False:
        return None
    return f"{server.label()}: session tickets on with nginx {info.version_text()} (< 1.23.2, keys never rotate)"


@check(
    id="TLS-03",
    title="Key exchange uses X25519; DHE ≥ 2048 bits; session tickets off on nginx < 1.23.2",
    category="tls",
    severity="medium",
    rationale="X25519 is the fastest safe ECDHE group; small DH groups are breakable (Logjam); nginx "
    "before 1.23.2 never rotates session ticket keys, which breaks forward secrecy.",
    remediation="Use 'ssl_ecdh_curve X25519:prime256v1:secp384r1;', a 2048+ bit ssl_dhparam (or none), "
    "and 'ssl_session_tickets off;' on nginx older than 1.23.2.",
    references=(MOZILLA, NGINX_SSL, "https://weakdh.org"),
    fix_role="nginx",
    fix_tag="nginx_tls",
)
def tls_key_exchange(facts: Facts) -> Result:
    """Inspects: ssl_ecdh_curve, ssl_dhparam (bits read from the file) and ssl_session_tickets with the nginx
    version.

    pass: X25519 offered (explicitly or via auto), DH params ≥ 2048 bits or none, tickets off on nginx < 1.23.2;
    fail otherwise.
    """
    info, servers, skip = _tls_or_na(facts)
    if skip:
        return skip
    problems, seen = [], []
    for server in servers:
        curve_problem, curve_seen = _curve_problem(server)
        seen.append(f"{server.label()}: {curve_seen}")
        problems.extend(
            p for p in (curve_problem, _dh_problem(facts, info.config, server), _ticket_problem(info, server)) if p
        )
    return judge("X25519 offered, DH parameters strong, session tickets safe", problems, seen=seen)


UNSAFE_OPTIONS = {"compression", "unsafelegacyrenegotiation", "unsafelegacyserverconnect"}


def _unsafe_openssl_options(directive: Directive) -> bool:
    """'ssl_conf_command Options Compression' (a leading '-' would turn the option off)."""
    if directive.name != "ssl_conf_command" or directive.args[:1] != ("Options",):
        return False
    values = re.split(r"[,\s]+", " ".join(directive.args[1:]))
    return any(v.lstrip("+").lower() in UNSAFE_OPTIONS for v in values if not v.startswith("-"))


@check(
    id="TLS-04",
    title="No TLS compression, no insecure renegotiation",
    category="tls",
    severity="critical",
    rationale="TLS compression enables CRIME; client-initiated or legacy renegotiation enables DoS and "
    "request injection.",
    remediation="Run a supported nginx (>= 1.1.6 disables compression and client renegotiation) built with "
    "OpenSSL >= 1.1.0, and remove any 'ssl_conf_command Options' enabling Compression or "
    "UnsafeLegacyRenegotiation.",
    references=(MOZILLA, "CVE-2012-4929 (CRIME)", "RFC 5746"),
    fix_role="nginx",
    fix_tag="nginx_tls",
)
def tls_compression_renegotiation(facts: Facts) -> Result:
    """Inspects: `nginx -V` (nginx and OpenSSL versions) and any `ssl_conf_command Options`.

    pass: nginx ≥ 1.1.6 on OpenSSL ≥ 1.1 and no option re-enabling compression/legacy renegotiation; partial:
    TLS library unknown; fail otherwise. Handshakes are verified live.
    """
    info, _servers, skip = _tls_or_na(facts)
    if skip:
        return skip
    problems = [f"{d.evidence()} re-enables an unsafe option" for d in info.config.walk() if _unsafe_openssl_options(d)]
    seen = [f"nginx {info.version_text()} built with {info.tls_library or 'unknown TLS library'}"]
    minor = []
    library = re.match(r"OpenSSL (\d+)\.(\d+)", info.tls_library or "")
    if info.version is not None and info.version < (1, 1, 6):
        problems.append(f"nginx {info.version_text()} predates compression/renegotiation hardening (1.1.6)")
    if library is None:
        minor.append("TLS library version unknown: cannot confirm compression is unavailable (verified live)")
    elif (int(library.group(1)), int(library.group(2))) < (1, 1):
        problems.append(f"{info.tls_library} still supports TLS compression")
    return judge("compression unavailable and client renegotiation disabled by nginx/OpenSSL", problems, minor, seen)


def _is_acme(context: Context) -> bool:
    location = context.location
    return location is not None and "/.well-known/acme-challenge" in " ".join(location.args)


def _redirects(server: Context) -> bool:
    if redirects_to_https(server):
        return True
    for block in server.block.find("if"):
        if "$scheme" in " ".join(block.args) and redirects_to_https(server.child(block)):
            return True
    inner = [loc for loc in locations(server) if not _is_acme(loc)]
    return bool(inner) and all(redirects_to_https(loc) for loc in inner)


@check(
    id="TLS-05",
    title="Port 80 redirects every name to HTTPS (except the ACME challenge path)",
    category="tls",
    severity="medium",
    rationale="Content served over plain HTTP can be read and modified in transit; a 301 to https "
    "(plus HSTS) moves every client to TLS while HTTP-01 validation keeps working.",
    remediation="In each port-80 server: 'location ^~ /.well-known/acme-challenge/ { root <webroot>; }' and "
    "'location / { return 301 https://$host$request_uri; }'.",
    references=(MOZILLA, "https://letsencrypt.org/docs/challenge-types/#http-01-challenge"),
    fix_role="nginx",
    fix_tag="nginx_tls",
)
def tls_http_redirect(facts: Facts) -> Result:
    """Inspects: Every server with a non-ssl listen that is not a refusing catch-all.

    pass: server-level or per-location `return 301/308 https://...` (ACME challenge location excepted); fail: a
    plain-HTTP server serving content.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    problems, seen = [], []
    for server in info.config.servers():
        plain = [item for item in listens(server.block) if not item.ssl and not item.quic]
        # ssl_reject_handshake refuses TLS only: on a plain listen only a 'return' refuses.
        if not plain or refuses(server, tls=False):
            continue
        sockets = ", ".join(item.socket for item in plain)
        if _redirects(server):
            seen.append(f"{server.label()} ({sockets}): redirects to https")
        else:
            problems.append(f"{server.label()} ({sockets}) serves content over plain HTTP")
    if not problems and not seen:
        return judge("no plain-HTTP server serves content", [], seen=["no port-80 server except catch-alls"])
    return judge("every plain-HTTP server redirects to https", problems, seen=seen)


def _default_servers(config: NginxConfig) -> dict[str, tuple[Context, bool]]:
    """listen socket -> (the server nginx uses for unknown names on it, whether the socket is TLS).

    A socket is TLS when any server lists it with ``ssl`` (nginx merges listen options per
    socket), or the server uses the legacy ``ssl on;``.
    """
    defaults: dict[str, Context] = {}
    first: dict[str, Context] = {}
    tls: dict[str, bool] = {}
    for server in config.servers():
        legacy_ssl = any(flag(d) for d in server.block.find("ssl"))
        for item in listens(server.block):
            first.setdefault(item.socket, server)
            tls[item.socket] = tls.get(item.socket, False) or item.ssl or item.quic or legacy_ssl
            if item.default_server:
                defaults.setdefault(item.socket, server)
    return {socket: (defaults.get(socket, server), tls[socket]) for socket, server in first.items()}


@check(
    id="TLS-06",
    title="Requests for unknown Host/SNI are refused",
    category="tls",
    severity="medium",
    rationale="A default server that answers any Host leaks the real site to scanners that connect by IP "
    "and enables host-header attacks; it should close (444), answer 421, or reject the TLS handshake.",
    remediation="Add a catch-all 'server { listen 80 default_server; listen 443 ssl default_server; "
    "server_name _; ssl_reject_handshake on; return 444; }'.",
    references=("https://nginx.org/en/docs/http/request_processing.html", NGINX_SSL),
    fix_role="nginx",
    fix_tag="nginx_tls",
)
def tls_default_server(facts: Facts) -> Result:
    """Inspects: The default server of every listen socket (explicit default_server, else the first server).

    pass: it returns 444/421/4xx, or (TLS sockets only) has `ssl_reject_handshake on`; fail: it answers unknown
    names.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    problems, seen = [], []
    for socket, (server, tls) in sorted(_default_servers(info.config).items()):
        # ssl_reject_handshake only refuses TLS handshakes; a plain socket needs a 'return'.
        if refuses(server, tls=tls):
            seen.append(f"{socket}: default {server.label()} refuses")
        else:
            problems.append(f"{socket}: default {server.label()} ({server.block.where}) answers unknown names")
    return judge("every listen socket's default server refuses unknown names", problems, seen=seen)


@check(
    id="TLS-07",
    title="No version banner (server_tokens off), autoindex off",
    category="tls",
    severity="low",
    rationale="Version banners let scanners match known CVEs; directory listings expose files.",
    remediation="Set 'server_tokens off;' in the http block and remove 'autoindex on;'.",
    references=(f"{CIS_NGINX} 2.5.1", "https://nginx.org/en/docs/http/ngx_http_core_module.html#server_tokens"),
    fix_role="nginx",
    fix_tag="nginx",
)
def tls_banner(facts: Facts) -> Result:
    """Inspects: Effective server_tokens per server; every autoindex directive.

    pass: server_tokens off everywhere, no autoindex on; fail otherwise.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    problems, seen = [], []
    for server in info.config.servers():
        tokens = server.value("server_tokens")
        if tokens is None or flag(tokens) is not False:
            problems.append(f"{server.label()}: " + (tokens.evidence() if tokens else "server_tokens not set (on)"))
        else:
            seen.append(f"{server.label()}: {tokens.evidence()}")
    problems += [f"{d.evidence()}" for d in info.config.walk() if d.name == "autoindex" and flag(d)]
    return judge("server_tokens off everywhere and no autoindex", problems, seen=seen)


@check(
    id="TLS-08",
    title="nginx workers do not run as root; the nginx account has no login shell",
    category="tls",
    severity="high",
    rationale="Workers parse untrusted input; running them as root turns any memory bug into full "
    "host compromise, and a login shell on the service account invites interactive use.",
    remediation="Set 'user www-data;' in nginx.conf and 'usermod -s /usr/sbin/nologin www-data'.",
    references=(f"{CIS_NGINX} 2.2.1", f"{CIS_NGINX} 2.2.2"),
    fix_role="nginx",
    fix_tag="nginx",
)
@doubted_by("ps", hides=lambda line: "nginx" in line.text)
def tls_worker_user(facts: Facts) -> Result:
    """Inspects: The main-level `user` directive, the account's shell in /etc/passwd, worker process uids from ps.

    pass: workers not root, account without login shell; fail otherwise.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    directive = next(iter(info.config.main.find("user")), None)
    user = directive.args[0] if directive and directive.args else "nobody"
    seen = [directive.evidence() if directive else "user not set (nginx default: nobody)"]
    problems = []
    if user == "root":
        problems.append(f"workers configured to run as root ({seen[0]})")
    account = accounts(facts).get(user)
    if account is not None and account.can_login:
        problems.append(f"account {user} has login shell {account.shell}")
    elif account is not None:
        seen.append(f"account {user}: shell {account.shell}")
    workers = [p for p in processes(facts) if p.args.startswith("nginx: worker")]
    root_workers = [p for p in workers if p.uid == 0]
    if root_workers:
        problems.append(f"{len(root_workers)} worker process(es) running as root")
    seen.append(f"{len(workers)} worker process(es) seen")
    return judge(f"workers run as {user} without a login shell", problems, seen=seen)


@check(
    id="TLS-09",
    title="nginx config files are root-owned and not writable by others; default site removed",
    category="tls",
    severity="medium",
    rationale="Whoever can write nginx config controls TLS, routing and logging; the distro default site "
    "answers any name with a test page.",
    remediation="chown root:root and chmod go-w every file listed by 'nginx -T'; remove "
    "/etc/nginx/sites-enabled/default.",
    references=(f"{CIS_NGINX} 2.3.1", f"{CIS_NGINX} 2.3.2"),
    fix_role="nginx",
    fix_tag="nginx",
)
def tls_config_files(facts: Facts) -> Result:
    """Inspects: stat() of every file listed by `nginx -T`; /etc/nginx/sites-enabled/default.

    pass: all root-owned without group/world write, no default site; fail otherwise.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    problems, seen = [], []
    for path in info.config.files:
        st = facts.stat(path)
        if st is None:
            problems.append(f"{path}: listed by nginx -T but missing now")
            continue
        seen.append(describe(st))
        if st.uid != 0 or st.mode & 0o022:
            problems.append(f"{describe(st)}: not root-owned or group/world-writable")
    default_site = "/etc/nginx/sites-enabled/default"
    if default_site in info.config.files or facts.stat(default_site) is not None:
        problems.append(f"{default_site}: distro default site still enabled")
    return judge("all config files root-owned, not group/world-writable; no default site", problems, seen=seen)


def _upstream_servers(config: NginxConfig, name: str) -> list[str] | None:
    http = config.http
    for block in http.find("upstream") if http else []:
        if block.args[:1] == (name,):
            return [d.args[0] for d in block.find("server") if d.args]
    return None


def _host_is_private(host: str) -> bool | None:
    """True private/loopback, False public, None unknown (a DNS name)."""
    host = host.strip("[]")
    if host in ("localhost",) or host.startswith("unix:"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return address.is_private or address.is_loopback


def _split_host(target: str) -> str:
    if target.startswith("unix:"):
        return target
    return urlsplit("//" + target).hostname or target


# *_pass directive -> (its own *_ssl_verify, its TLS scheme). Each module has its own verify
# setting: proxy_ssl_verify says nothing about a grpcs:// upstream. FastCGI and SCGI are
# always clear text.
UPSTREAM_PASSES: dict[str, tuple[str | None, str | None]] = {
    "proxy_pass": ("proxy_ssl_verify", "https"),
    "grpc_pass": ("grpc_ssl_verify", "grpcs"),
    "uwsgi_pass": ("uwsgi_ssl_verify", "suwsgi"),
    "fastcgi_pass": (None, None),
    "scgi_pass": (None, None),
}


def _judge_upstream(config: NginxConfig, context: Context, directive: Directive) -> tuple[str | None, str | None]:
    url = directive.args[0]
    if "$" in url:
        return None, f"{url}: destination chosen at runtime, cannot be verified"
    parts = urlsplit(url if "://" in url else "http://" + url)
    verify_name, tls_scheme = UPSTREAM_PASSES[directive.name]
    if verify_name is not None and parts.scheme == tls_scheme and flag(context.value(verify_name)):
        return None, None
    members = _upstream_servers(config, parts.hostname or "") or [parts.netloc]
    verdicts = [_host_is_private(_split_host(m)) for m in members]
    if all(v is True for v in verdicts):
        return None, None
    if any(v is False for v in verdicts):
        return f"{url} reaches a public address without verified TLS", None
    return None, f"{url}: DNS name, cannot tell whether it stays on a private network"


def _limit_excepts(location: Context) -> list[Context]:
    return [location.child(block) for block in location.block.find("limit_except")]


@check(
    id="TLS-10",
    title="Upstreams are loopback/private, or HTTPS with proxy_ssl_verify on",
    category="tls",
    severity="medium",
    rationale="Proxying to a public address in clear text (or over unverified TLS) exposes the traffic "
    "nginx just decrypted.",
    remediation="Point proxy_pass at loopback/private addresses, or use https:// with "
    "'proxy_ssl_verify on; proxy_ssl_trusted_certificate <ca>;'.",
    references=("https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_ssl_verify",),
    fix_role="nginx",
    fix_tag="nginx",
)
def tls_upstreams(facts: Facts) -> Result:
    """Inspects: Every proxy_pass/grpc_pass/uwsgi_pass/fastcgi_pass/scgi_pass target (upstream blocks resolved)
    in servers, locations and their if and limit_except blocks, and the module's own *_ssl_verify.

    pass: loopback/private/unix targets, or https with proxy_ssl_verify on; partial: DNS names or runtime
    variables that cannot be verified; fail: public address without verified TLS; n/a: no upstream.
    """
    info = nginx(facts)
    if info is None:
        return not_applicable("nginx is not installed")
    problems, minor, seen = [], [], []
    for server in info.config.servers():
        # proxy_pass & co. are valid in "if in location" and in "limit_except" too: a matching
        # if, or a request whose method the limit_except does not list, is proxied from there.
        places = [server, *(c for loc in locations(server) for c in (loc, *location_ifs(loc), *_limit_excepts(loc)))]
        for context in places:
            for directive in [d for d in context.block.children or () if d.name in UPSTREAM_PASSES]:
                if not directive.args:
                    continue
                seen.append(directive.evidence())
                problem, note = _judge_upstream(info.config, context, directive)
                problems += [f"{context.label()}: {problem}"] if problem else []
                minor += [f"{context.label()}: {note}"] if note else []
    if not seen:
        return not_applicable("nginx proxies to no upstream")
    if not problems and minor and len(minor) == len(seen):
        return partial(minor[0], [*minor, *seen])
    return judge("every upstream is private or verified TLS", problems, minor, seen)


@check(
    id="TLS-11",
    title="nginx configuration on disk passes nginx -t",
    category="tls",
    severity="high",
    rationale="When the files on disk fail validation, the running master keeps serving the tree it "
    "loaded earlier, so nothing looks wrong; the next restart or reboot takes every site down. The "
    "audit judges what the next restart would load (the files on disk), and this check says it would "
    "not load. Rampart addition to the checklist.",
    remediation="Run 'nginx -t', fix the file and line it names (a key or certificate nginx refuses, a "
    "typo, a missing include), then reload; apply changes through the nginx role, which validates "
    "before it reloads.",
    references=(
        "Rampart addition to the checklist (not in CHECKLIST.md 1.0)",
        "https://nginx.org/en/docs/switches.html",
    ),
    fix_role="nginx",
    fix_tag="nginx",
)
def tls_config_valid(facts: Facts) -> Result:
    """Inspects: `nginx -T` on the host (nginx validating the configuration files on disk).

    pass: nginx accepts the configuration; fail: nginx refuses it (its [emerg] message is the evidence; the
    other nginx checks then judge the files on disk, parsed and include-expanded by the audit); n/a: no nginx.
    """
    checked = validation(facts)
    if checked is None:
        return not_applicable("nginx is not installed")
    if checked.ok:
        return passed("nginx -t accepts the configuration on disk", ["nginx -T: rc 0"])
    evidence = [f"nginx -T: rc {checked.rc}", *checked.messages]
    evidence.append("the running nginx may still serve an older configuration; the next restart or reboot fails")
    return failed(f"nginx refuses its configuration on disk: {checked.summary}", evidence)
