"""nginx facts: the parsed ``nginx -T`` tree, the version, and OpenSSL cipher expansions.

When ``nginx -T`` fails (the configuration on disk does not pass ``nginx -t``: the running
master still serves the old tree, the next restart or reboot takes the site down), the
files on disk are parsed with our own parser instead, following the includes as nginx
does, so every check still judges what the next restart would load; the failed
validation itself is judged by TLS-11 with nginx's message as evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import nginx as nginx_parser
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nginx import Context, NginxConfig
from ansible_collections.rampart.hardening.plugins.module_utils.probes import MISSING, first_line, parsed

CONF_PATH = "/etc/nginx/nginx.conf"
MAX_FILES = 500
# nginx's own diagnostics in its stderr: "nginx: [emerg] ... in /etc/nginx/...:12".
DIAGNOSTIC = re.compile(r"\[(emerg|alert|crit|error)\]")
# "2026/12/01 15:35:09 [emerg] 10293#10293: msg" -> "[emerg] msg" (time and pid vary between runs).
NOISE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d |(?<=\]) \d+#\d+:")

VERSION = re.compile(r"nginx version: nginx/(\d+(?:\.\d+)*)")
OPENSSL = re.compile(r"built with (OpenSSL|LibreSSL|BoringSSL) (\S+)")
# nginx's own defaults for directives the checks judge.
DEFAULT_PROTOCOLS_OLD = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")  # before 1.23.4
DEFAULT_PROTOCOLS_NEW = ("TLSv1.2", "TLSv1.3")
DEFAULT_CIPHERS = "HIGH:!aNULL:!MD5"
# Location paths that are administration or login entry points.
# A name starts after '/', or after '(' '|' ':' inside a regex location ("~ ^/(admin|manage)/",
# "~ ^/(?:wp-admin)/"): the path of a regex location is the regex itself.
ADMIN_PATH = re.compile(r"(^|[/(|:])(admin|administrator|wp-admin|manage|management|dashboard|internal)(/|$|\b)", re.I)
AUTH_PATH = re.compile(
    r"(^|[/(|:])(login|signin|sign-in|auth|oauth|token|session|wp-login\.php|password)(/|$|\b)", re.I
)


@dataclass(frozen=True)
class Validation:
    """What ``nginx -T`` said about the configuration on disk."""

    ok: bool
    rc: int
    messages: tuple[str, ...]  # nginx's [emerg]/[alert]/... lines (or its last line)

    @property
    def summary(self) -> str:
        return self.messages[0] if self.messages else f"nginx -T failed (rc {self.rc})"


@dataclass
class NginxFacts:
    config: NginxConfig
    version: tuple[int, ...] | None
    tls_library: str | None
    source: str = "nginx -T"  # or "files on disk" when nginx -t refused them
    validation: Validation | None = None

    def version_text(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "unknown"


@dataclass(frozen=True)
class Cipher:
    name: str
    protocol: str
    kx: str
    au: str
    enc: str
    mac: str

    @property
    def aead(self) -> bool:
        return self.mac == "AEAD"

    @property
    def forward_secret(self) -> bool:
        return self.kx in ("ECDH", "DH", "any")


def _validate(facts: Facts) -> Validation | None:
    out = facts.run(("nginx", "-T"))
    if out.rc == MISSING:
        return None
    if out.rc == 0:
        return Validation(True, 0, ())
    lines = [
        NOISE.sub("", line.strip()) for line in (out.stderr + "\n" + out.stdout).splitlines() if DIAGNOSTIC.search(line)
    ]
    if not lines:
        lines = [first_line(out.stderr) or first_line(out.stdout) or f"nginx -T failed (rc {out.rc})"]
    return Validation(False, out.rc, tuple(dict.fromkeys(lines)))


def validation(facts: Facts) -> Validation | None:
    """Whether nginx accepts its configuration on disk (None when nginx is not installed)."""
    return facts.cached("nginx-validation", lambda: _validate(facts))


def read_disk_config(facts: Facts, conf_path: str = CONF_PATH) -> NginxConfig:
    """The configuration files on disk, include-expanded like nginx does (ProbeError if unreadable).

    ``include`` is followed in any context; relative patterns resolve under the conf
    prefix (the directory of nginx.conf); a glob matching nothing is fine, a missing
    plain include is what nginx itself refuses, so it is reported as such.
    """
    conf_dir = conf_path.rsplit("/", 1)[0] or "/"
    contents: dict[str, str] = {}
    pending = [conf_path]
    while pending:
        path = pending.pop(0)
        if path in contents:
            continue
        if len(contents) >= MAX_FILES:
            raise ProbeError(f"more than {MAX_FILES} nginx configuration files (include loop?)")
        text = facts.read_text(path)
        if text is None:
            raise ProbeError(f"nginx configuration file {path} is missing")
        contents[path] = text
        try:
            statements = nginx_parser.parse_text(text, path)
        except ParseError as exc:
            raise ProbeError(f"cannot parse nginx configuration on disk: {exc}") from exc
        for pattern in nginx_parser.include_patterns(statements):
            absolute = nginx_parser.resolve_include(pattern, conf_dir)
            pending.extend(facts.glob(absolute) if nginx_parser.is_glob(absolute) else [absolute])
    try:
        return nginx_parser.build_config(contents)
    except ParseError as exc:
        raise ProbeError(f"cannot parse nginx configuration on disk: {exc}") from exc


def _probe(facts: Facts) -> NginxFacts | None:
    checked = validation(facts)
    if checked is None:
        return None
    if checked.ok:
        config = parsed(nginx_parser.parse_dump, facts.run(("nginx", "-T")).stdout, "nginx -T output")
        source = "nginx -T"
    else:
        try:
            config = read_disk_config(facts)
        except ProbeError as exc:
            raise ProbeError(f"nginx -t failed ({checked.summary}) and {exc}") from exc
        source = "files on disk"
    info = facts.run(("nginx", "-V"))
    banner = info.stderr + info.stdout
    version = VERSION.search(banner)
    library = OPENSSL.search(banner)
    return NginxFacts(
        config=config,
        version=tuple(int(p) for p in version.group(1).split(".")) if version else None,
        tls_library=f"{library.group(1)} {library.group(2)}" if library else None,
        source=source,
        validation=checked,
    )


def nginx(facts: Facts) -> NginxFacts | None:
    """nginx facts, or None when nginx is not installed."""
    return facts.cached("nginx", lambda: _probe(facts))


def default_protocols(info: NginxFacts) -> tuple[str, ...]:
    return DEFAULT_PROTOCOLS_NEW if info.version and info.version >= (1, 23, 4) else DEFAULT_PROTOCOLS_OLD


def tls_servers(info: NginxFacts) -> list[Context]:
    """http servers with a TLS listen, then stream servers terminating TLS (same ssl_* rules)."""
    servers = [*info.config.servers(), *info.config.stream_servers()]
    return [s for s in servers if nginx_parser.is_tls_server(s.block)]


REFUSING_CODES = frozenset({"444", "421", "403", "400", "404"})


def refuses(server: Context, *, tls: bool) -> bool:
    """Whether ``server`` refuses every request on a TLS (``tls``) or plain listen.

    ``ssl_reject_handshake on`` (any case: an nginx flag) refuses TLS handshakes only; on a
    plain-HTTP listen there is no handshake, so only a server-level ``return 444/421/4xx`` refuses.
    """
    if tls and nginx_parser.flag(server.value("ssl_reject_handshake")):
        return True
    returns = server.block.find("return")
    return bool(returns) and returns[0].args[:1] != () and returns[0].args[0] in REFUSING_CODES


def rejects_everything(server: Context) -> bool:
    """A catch-all server that refuses (return 444/421/4xx, or ssl_reject_handshake on)."""
    return refuses(server, tls=True)


def redirects_to_https(context: Context) -> bool:
    returns = context.block.find("return")
    return bool(returns) and returns[0].args[:1] in (("301",), ("308",)) and "https://" in " ".join(returns[0].args)


def is_acme_challenge(context: Context) -> bool:
    return "/.well-known/acme-challenge" in location_path(context)


def serving_contexts(server: Context) -> list[Context]:
    """Where requests are actually served: each location that does not just return/redirect
    (ACME HTTP-01 token locations excepted: they serve only validation tokens), or the server
    itself when it has no locations and does not just return."""
    contexts = [
        loc for loc in nginx_parser.locations(server) if not loc.block.find("return") and not is_acme_challenge(loc)
    ]
    if not nginx_parser.locations(server) and not server.block.find("return"):
        contexts.append(server)
    return contexts


def public_servers(info: NginxFacts) -> list[Context]:
    """Servers that serve content to the network (not catch-alls, not loopback-only)."""
    result = []
    for server in info.config.servers():
        listens = nginx_parser.listens(server.block)
        loopback_only = listens and all(item.address in ("127.0.0.1", "[::1]", "localhost") for item in listens)
        if loopback_only or rejects_everything(server):
            continue
        result.append(server)
    return result


def location_path(context: Context) -> str:
    location = context.location
    return location.args[-1] if location is not None and location.args else "/"


def is_admin(context: Context) -> bool:
    return bool(ADMIN_PATH.search(location_path(context)))


def is_auth(context: Context) -> bool:
    return bool(AUTH_PATH.search(location_path(context)))


def _parse_cipher_line(line: str) -> Cipher | None:
    fields = line.split()
    if len(fields) < 6:
        return None
    values = dict(field.split("=", 1) for field in fields[2:] if "=" in field)
    return Cipher(
        fields[0], fields[1], values.get("Kx", ""), values.get("Au", ""), values.get("Enc", ""), values.get("Mac", "")
    )


def cipher_suites(facts: Facts, cipher_string: str) -> list[Cipher]:
    """Expand an OpenSSL cipher string with the host's own ``openssl ciphers -v``."""

    def probe() -> list[Cipher]:
        out = facts.run(("openssl", "ciphers", "-v", cipher_string))
        if out.rc == MISSING:
            raise ProbeError("openssl binary not found: cannot expand ssl_ciphers")
        if out.rc != 0:
            raise ProbeError(f"openssl ciphers rejected {cipher_string!r}: {out.stderr.strip()[:120]}")
        suites = [c for c in map(_parse_cipher_line, out.stdout.splitlines()) if c is not None]
        if not suites:
            raise ProbeError(f"openssl ciphers -v printed nothing usable for {cipher_string!r}")
        return suites

    return facts.cached(f"openssl-ciphers:{cipher_string}", probe)
