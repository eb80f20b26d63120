"""Outside-in probes run from the controller against ONE given host (edge_probe's logic).

Every probe connects only to ``ProbeTarget.address`` (names are used for SNI and the Host
header, never resolved), is time-bounded, and returns Results keyed by checklist id in
the same shape the engine merges with what the host's config says.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import re
import socket
import ssl
import struct
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.model import (
    Result,
    Status,
    error,
    failed,
    not_applicable,
    partial,
    passed,
)
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sockets import DATA_PORTS

try:
    from cryptography import x509

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - exercised on hosts without python3-cryptography
    HAS_CRYPTOGRAPHY = False

VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
HSTS_GOOD = 63072000
HSTS_MIN = 15768000
LOCAL_REFUSAL = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_CIPHER_MATCH", "UNSUPPORTED_PROTOCOL_LOCAL")
ORDER = {Status.PASS: 0, Status.NOT_APPLICABLE: -1, Status.ERROR: 1, Status.PARTIAL: 2, Status.FAIL: 3}


@dataclass(frozen=True)
class ProbeTarget:
    """The one host probes may talk to."""

    address: str
    timeout: float = 3.0


@dataclass(frozen=True)
class TlsEndpoint:
    port: int = 443
    server_name: str | None = None
    expected_fingerprint: str | None = None  # SHA-256 of the certificate on the host's disk


@dataclass
class Handshake:
    """Outcome of one TLS handshake attempt."""

    outcome: str  # accepted | refused | untestable
    detail: str = ""
    version: str | None = None
    cipher: str | None = None
    der: bytes | None = None


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


# ----- TLS ---------------------------------------------------------------------------------
def _client_context(version: ssl.TLSVersion | None = None, ciphers: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # Offer everything this OpenSSL can do, so refusals come from the server, not from us.
    ctx.set_ciphers(ciphers or "ALL:@SECLEVEL=0")
    if version is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # probing old versions is the point
            ctx.minimum_version = version
            ctx.maximum_version = version
    return ctx


def handshake(target: ProbeTarget, port: int, server_name: str | None, ctx: ssl.SSLContext) -> Handshake:
    """One TLS handshake to the target; classifies local inability separately from refusal."""
    try:
        with (
            socket.create_connection((target.address, port), timeout=target.timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name or None) as tls,
        ):
            return Handshake("accepted", "", tls.version(), (tls.cipher() or ("",))[0], tls.getpeercert(True))
    except ssl.SSLError as exc:
        reason = str(exc.reason or exc)
        if any(marker in reason for marker in LOCAL_REFUSAL):
            return Handshake("untestable", f"this controller's OpenSSL cannot offer it ({reason})")
        return Handshake("refused", reason)
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as exc:
        return Handshake("refused", type(exc).__name__)
    except OSError as exc:
        return Handshake("unreachable", str(exc))


def probe_versions(target: ProbeTarget, endpoint: TlsEndpoint) -> dict[str, Handshake]:
    """Handshake once per protocol version, each pinned with min = max = that version."""
    outcomes: dict[str, Handshake] = {}
    for name, version in VERSIONS.items():
        try:
            ctx = _client_context(version)
        except (ValueError, ssl.SSLError) as exc:
            outcomes[name] = Handshake("untestable", f"cannot configure {name} locally: {exc}")
            continue
        outcomes[name] = handshake(target, endpoint.port, endpoint.server_name, ctx)
    return outcomes


def tls12_cipher_names() -> list[str]:
    """TLS 1.2 suites this controller can offer (PSK/SRP suites need credentials: skipped)."""
    ctx = _client_context(ssl.TLSVersion.TLSv1_2, "ALL:eNULL:@SECLEVEL=0")
    names = [c["name"] for c in ctx.get_ciphers() if c.get("protocol") != "TLSv1.3"]
    return [n for n in names if "PSK" not in n and "SRP" not in n]


def probe_tls12_ciphers(target: ProbeTarget, endpoint: TlsEndpoint) -> list[str]:
    """Every TLS 1.2 suite the server accepts, one handshake per suite."""
    accepted = []
    for name in tls12_cipher_names():
        ctx = _client_context(ssl.TLSVersion.TLSv1_2, f"{name}:@SECLEVEL=0")
        if handshake(target, endpoint.port, endpoint.server_name, ctx).outcome == "accepted":
            accepted.append(name)
    return accepted


def classify_cipher(name: str) -> str:
    """good (ECDHE + AEAD), acceptable (DHE + AEAD: Mozilla intermediate) or weak."""
    aead = any(token in name for token in ("GCM", "CHACHA20", "CCM"))
    if not aead or any(token in name for token in ("NULL", "RC4", "DES", "EXP", "ADH", "AECDH", "anon")):
        return "weak"
    if name.startswith("ECDHE-"):
        return "good"
    if name.startswith("DHE-"):
        return "acceptable"
    return "weak"  # static RSA key exchange: no forward secrecy


def tls01_result(label: str, versions: dict[str, Handshake]) -> Result:
    evidence = [
        f"{label} {name}: {hs.outcome}{' (' + hs.detail + ')' if hs.detail else ''}" for name, hs in versions.items()
    ]
    old_accepted = [name for name in ("TLSv1", "TLSv1.1") if versions[name].outcome == "accepted"]
    modern = [name for name in ("TLSv1.2", "TLSv1.3") if versions[name].outcome == "accepted"]
    if old_accepted:
        return failed(f"{label} accepts {', '.join(old_accepted)}", evidence)
    if not modern:
        return error(f"{label}: no TLS 1.2/1.3 handshake succeeded", evidence)
    untestable = [name for name in ("TLSv1", "TLSv1.1") if versions[name].outcome == "untestable"]
    if untestable:
        return error(f"{label}: cannot test {', '.join(untestable)} from this controller", evidence)
    return passed(f"{label} accepts only {', '.join(modern)}", evidence)


def tls02_result(label: str, accepted: Sequence[str]) -> Result:
    if not accepted:
        return not_applicable(f"{label}: no TLS 1.2 suite accepted (TLS 1.3 only)")
    weak = [c for c in accepted if classify_cipher(c) == "weak"]
    dhe = [c for c in accepted if classify_cipher(c) == "acceptable"]
    evidence = [f"{label} TLS1.2 accepts {c} ({classify_cipher(c)})" for c in accepted]
    if weak:
        return failed(f"{label} accepts {len(weak)} weak TLS 1.2 suites: {', '.join(weak[:6])}", evidence)
    if dhe:
        return partial(f"{label} accepts DHE suites (AEAD, but ECDHE only is expected): {', '.join(dhe)}", evidence)
    return passed(f"{label} accepts only ECDHE + AEAD TLS 1.2 suites ({len(accepted)})", evidence)


# ----- certificates -------------------------------------------------------------------------
def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def normalize_fingerprint(value: str) -> str:
    return re.sub(r"[^0-9a-f]", "", value.lower().split("=")[-1])


def san_covers(names: Iterable[str], server_name: str) -> bool:
    """RFC 6125 style: exact, or a single left-most wildcard label."""
    wanted = server_name.lower().rstrip(".")
    for name in names:
        pattern = name.lower().rstrip(".")
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "." in wanted and wanted.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def certificate_results(
    label: str, endpoint: TlsEndpoint, der: bytes, now: datetime, verified: str | None
) -> dict[str, Result]:
    """CRT-01 (expiry), CRT-02 (served = on disk), CRT-03 (chain + SAN) for one served cert."""
    served = fingerprint(der)
    results: dict[str, Result] = {}
    if endpoint.expected_fingerprint:
        expected = normalize_fingerprint(endpoint.expected_fingerprint)
        seen = [f"{label} serves sha256 {served}", f"host has sha256 {expected}"]
        results["CRT-02"] = (
            passed(f"{label} serves the certificate on disk", seen)
            if served == expected
            else failed(f"{label} serves a different certificate than the one on disk (reload pending?)", seen)
        )
    if not HAS_CRYPTOGRAPHY:
        results["CRT-01"] = error("python cryptography is not installed on the controller")
        return results
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    days = (not_after - now).total_seconds() / 86400
    seen = [f"{label} notAfter {not_after.isoformat()} ({days:.0f} days)", f"sha256 {served}"]
    if days < 0:
        results["CRT-01"] = failed(f"{label} certificate expired {-days:.0f} days ago", seen)
    elif days < 14:
        results["CRT-01"] = failed(f"{label} certificate expires in {days:.0f} days (< 14)", seen)
    elif days < 30:
        results["CRT-01"] = partial(f"{label} certificate expires in {days:.0f} days (< 30)", seen)
    else:
        results["CRT-01"] = passed(f"{label} certificate valid for {days:.0f} more days", seen)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        sans = []
    name = endpoint.server_name
    san_ok = name is None or san_covers(sans, name)
    seen = [f"{label} SAN: {', '.join(sans) or '(none)'}", f"chain: {verified or 'not checked'}"]
    if not san_ok:
        results["CRT-03"] = failed(f"{label}: SAN does not cover {name}", seen)
    elif verified is not None and verified != "verified":
        results["CRT-03"] = failed(f"{label}: chain does not verify ({verified})", seen)
    else:
        results["CRT-03"] = passed(
            f"{label}: SAN covers {name or 'the endpoint'}; chain {verified or 'not checked'}", seen
        )
    return results


def verify_chain(target: ProbeTarget, endpoint: TlsEndpoint, ca_file: str | None) -> str:
    """'verified' or why not, using the system trust store or ``ca_file``."""
    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    ctx.check_hostname = bool(endpoint.server_name)
    try:
        with (
            socket.create_connection((target.address, endpoint.port), timeout=target.timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=endpoint.server_name or target.address),
        ):
            return "verified"
    except ssl.SSLCertVerificationError as exc:
        return f"{exc.verify_message or exc.reason}"
    except (ssl.SSLError, OSError) as exc:
        return f"handshake failed: {exc}"


# ----- HTTP ---------------------------------------------------------------------------------
def http_get(target: ProbeTarget, scheme: str, port: int, host_header: str, path: str) -> HttpResponse:
    """One GET to the target with the given Host/SNI; certificate errors are not our concern here."""
    if scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.address, port, timeout=target.timeout, context=_https_context(host_header)
        )
    else:
        conn = http.client.HTTPConnection(target.address, port, timeout=target.timeout)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host_header)
        conn.putheader("User-Agent", "rampart-edge-probe/1")
        conn.putheader("Connection", "close")
        conn.endheaders()
        response = conn.getresponse()
        response.read(65536)
        return HttpResponse(response.status, list(response.getheaders()))
    finally:
        conn.close()


class _SniContext(ssl.SSLContext):
    """An SSLContext that always sends a fixed SNI (we connect to an IP)."""

    sni: str = ""

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        kwargs["server_hostname"] = self.sni or kwargs.get("server_hostname")
        return super().wrap_socket(sock, *args, **kwargs)


def _https_context(server_name: str) -> ssl.SSLContext:
    ctx = _SniContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.sni = server_name
    return ctx


def hsts_max_age(value: str) -> int | None:
    match = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.IGNORECASE)
    return int(match.group(1)) if match else None


def header_results(label: str, ok: HttpResponse, missing: HttpResponse) -> dict[str, Result]:
    """HDR-01..06 and TLS-07 from a 2xx and a 4xx response of the same server."""
    pair = (("2xx", ok), ("4xx", missing))
    seen = [
        f"{label} {kind} status {resp.status}: " + "; ".join(f"{k}: {v}" for k, v in resp.headers)
        for kind, resp in pair
    ]
    return {
        "HDR-01": _hsts(label, pair, seen),
        "HDR-02": _all_have(label, pair, seen, "X-Content-Type-Options", lambda v: v.strip().lower() == "nosniff"),
        "HDR-03": _framing(label, pair, seen),
        "HDR-04": _csp(label, pair, seen),
        "HDR-05": _cookies(label, pair, seen),
        "HDR-06": _cors(label, pair, seen),
        "TLS-07": _banner(label, pair, seen),
    }


def _hsts(label: str, pair: tuple[tuple[str, HttpResponse], ...], seen: list[str]) -> Result:
    ages = {kind: hsts_max_age(" ".join(resp.header("Strict-Transport-Security"))) for kind, resp in pair}
    if ages["2xx"] is None:
        return failed(f"{label}: no Strict-Transport-Security header", seen)
    if ages["2xx"] < HSTS_MIN:
        return failed(f"{label}: HSTS max-age {ages['2xx']} is below {HSTS_MIN}", seen)
    if ages["4xx"] is None:
        return partial(f"{label}: HSTS missing on error responses (add 'always')", seen)
    if ages["2xx"] < HSTS_GOOD:
        return partial(f"{label}: HSTS max-age {ages['2xx']} is below {HSTS_GOOD}", seen)
    return passed(f"{label}: HSTS max-age {ages['2xx']} on 2xx and 4xx", seen)


def _all_have(
    label: str, pair: tuple[tuple[str, HttpResponse], ...], seen: list[str], name: str, ok: Callable[[str], bool]
) -> Result:
    missing = [kind for kind, resp in pair if not any(ok(v) for v in resp.header(name))]
    if len(missing) == len(pair):
        return failed(f"{label}: {name} missing", seen)
    if missing:
        return partial(f"{label}: {name} missing on {', '.join(missing)} responses", seen)
    return passed(f"{label}: {name} present on 2xx and 4xx", seen)


def _framing(label: str, pair: tuple[tuple[str, HttpResponse], ...], seen: list[str]) -> Result:
    def denies(resp: HttpResponse) -> bool:
        xfo = any(v.strip().upper() in ("DENY", "SAMEORIGIN") for v in resp.header("X-Frame-Options"))
        csp = any("frame-ancestors" in v.lower() for v in resp.header("Content-Security-Policy"))
        return xfo or csp

    missing = [kind for kind, resp in pair if not denies(resp)]
    if len(missing) == len(pair):
        return failed(f"{label}: framing not denied (no X-Frame-Options or CSP frame-ancestors)", seen)
    if missing:
        return partial(f"{label}: framing not denied on {', '.join(missing)} responses", seen)
    return passed(f"{label}: framing denied", seen)


def _csp(label: str, pair: tuple[tuple[str, HttpResponse], ...], seen: list[str]) -> Result:
    ok = pair[0][1]
    has_csp = bool(ok.header("Content-Security-Policy"))
    report_only = bool(ok.header("Content-Security-Policy-Report-Only"))
    referrer = bool(ok.header("Referrer-Policy"))
    if has_csp and referrer:
        return passed(f"{label}: CSP and Referrer-Policy present", seen)
    if (has_csp or report_only) or referrer:
        what = "CSP report-only" if report_only and not has_csp else ("CSP" if has_csp else "no CSP")
        return partial(f"{label}: {what}, Referrer-Policy {'present' if referrer else 'missing'}", seen)
    return failed(f"{label}: no Content-Security-Policy and no Referrer-Policy", seen)


def _cookies(label: str, pair: tuple[tuple[str, HttpResponse], ...], seen: list[str]) -> Result:
    cookies = [v for _unused, resp in pair for v in resp.header("Set-Cookie")]
    if not cookies:
        return not_applicable(f"{label}: no cookies set", seen)
    weak = [
        c.split("=", 1)[0] for c in cookies if not all(flag in c.lower() for flag in ("secure", "httponly", "samesite"))
    ]
    if weak:
        return failed(f"{label}: cookies without Secure/HttpOnly/SameSite: {', '.join(sorted(set(weak)))}", seen)
    return passed(f"{label}: all cookies carry Secure, HttpOnly, SameSite", seen)


def _cors(label: str, pair: tuple[tuple[str, HttpResponse], ...], seen: list[str]) -> Result:
    for _unused, resp in pair:
        origin = " ".join(resp.header("Access-Control-Allow-Origin")).strip()
        creds = " ".join(resp.header("Access-Control-Allow-Credentials")).strip().lower()
        if origin == "*" and creds == "true":
            return failed(f"{label}: Access-Control-Allow-Origin * with credentials", seen)
        if origin == "*":
            return partial(f"{label}: Access-Control-Allow-Origin * (no allowlist)", seen)
    return passed(f"{label}: no wildcard CORS", seen)


def _banner(label: str, pair: tuple[tuple[str, HttpResponse], ...], seen: list[str]) -> Result:
    banners = sorted({v for _unused, resp in pair for v in resp.header("Server") + resp.header("X-Powered-By")})
    versioned = [b for b in banners if re.search(r"\d+\.\d+", b)]
    if versioned:
        return failed(f"{label}: version banner {', '.join(versioned)}", seen)
    return passed(f"{label}: no version banner ({', '.join(banners) or 'no Server header'})", seen)


def redirect_result(target: ProbeTarget, server_names: Sequence[str], port: int = 80) -> Result:
    """TLS-05: port 80 answers 301/308 to https:// for every name."""
    evidence: list[str] = []
    problems: list[str] = []
    closed = 0
    for name in server_names:
        try:
            resp = http_get(target, "http", port, name, "/")
        except (OSError, http.client.HTTPException) as exc:
            evidence.append(f"http://{name}/ -> {exc}")
            closed += 1
            continue
        location = " ".join(resp.header("Location"))
        evidence.append(f"http://{name}/ -> {resp.status} {location}".strip())
        if resp.status not in (301, 308) or not location.lower().startswith("https://"):
            problems.append(name)
    if closed == len(server_names):
        return not_applicable("port 80 is closed", evidence)
    if problems or closed:
        return failed(f"port 80 does not redirect to https for {', '.join(problems) or 'every name'}", evidence)
    return passed("port 80 redirects to https (301/308) for every name", evidence)


def rate_limit_result(
    target: ProbeTarget, *, scheme: str, port: int, host_header: str, path: str, max_requests: int, max_seconds: float
) -> Result:
    """DOS-01 (opt-in): a bounded burst; pass when the server starts answering 429/503."""
    max_requests = max(1, min(max_requests, 500))
    deadline = time.monotonic() + max(0.5, min(max_seconds, 30.0))
    statuses: dict[int, int] = {}
    sent = 0
    while sent < max_requests and time.monotonic() < deadline:
        try:
            status = http_get(target, scheme, port, host_header, path).status
        except OSError:
            status = 0
        sent += 1
        statuses[status] = statuses.get(status, 0) + 1
        if status in (429, 503):
            break
    seen = [
        f"{sent} requests to {scheme}://{host_header}{path}: "
        + ", ".join(f"{k}x{v}" for k, v in sorted(statuses.items()))
    ]
    if statuses.get(429) or statuses.get(503):
        return passed(f"rate limit engaged after {sent} requests", seen)
    return failed(f"no 429/503 after {sent} requests", seen)


# ----- sockets ------------------------------------------------------------------------------
def tcp_open(target: ProbeTarget, port: int) -> bool:
    try:
        with socket.create_connection((target.address, port), timeout=target.timeout):
            return True
    except OSError:
        return False


def open_ports_of(target: ProbeTarget, ports: Iterable[int]) -> list[int]:
    """The ports that accept a TCP connection (probed concurrently: a filtered port costs a timeout)."""
    ports = list(ports)
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(ports)))) as pool:
        answers = list(pool.map(lambda port: tcp_open(target, port), ports))
    return [port for port, is_open in zip(ports, answers, strict=True) if is_open]


def source_address_towards(target: ProbeTarget) -> str | None:
    """The controller's own address on the route to the target (a UDP connect sends nothing)."""
    family = socket.AF_INET6 if ":" in target.address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((target.address, 9))
            return str(sock.getsockname()[0])
    except OSError:
        return None


def inside(address: str, sources: Iterable[str]) -> str | None:
    """The first allowed source (CIDR or address) that contains ``address``; "any" never counts."""
    ip = ipaddress.ip_address(address)
    for source in sources:
        try:
            network = ipaddress.ip_network(str(source), strict=False)
        except ValueError:
            continue
        if ip.version == network.version and ip in network:
            return str(source)
    return None


def allowed_sources_by_port(services: Iterable[Mapping[str, Any]], ports: Iterable[int]) -> dict[int, list[str]]:
    """Which sources the firewall intent opens each probed TCP port to ("any" is dropped: it excuses nothing)."""
    allowed: dict[int, list[str]] = {}
    for service in services:
        if str(service.get("protocol") or "tcp") != "tcp":
            continue
        sources = [str(source) for source in service.get("sources") or [] if str(source) != "any"]
        for port in ports:
            if sources and any(port_in(port, spec) for spec in service.get("ports") or []):
                allowed.setdefault(port, []).extend(sources)
    return allowed


def port_in(port: int, spec: Any) -> bool:
    """``spec`` is a port number or a "low-high" range (as nftables and the firewall intent write them)."""
    text = str(spec)
    low, _unused, high = text.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        raise ValueError(f"allowed_services: {text!r} is not a port or a low-high port range")
    return int(low) <= port <= int(high or low)


def exposure_result(
    target: ProbeTarget,
    ports: Iterable[int],
    open_ports: list[int] | None = None,
    allowed_sources: Mapping[int, Sequence[str]] | None = None,
    controller_address: str | None = None,
) -> Result:
    """NET-04: database/broker ports must not answer from here.

    A port the firewall deliberately opens to a source list that contains the controller
    (``allowed_sources``, from the firewall intent) answers because the controller is an
    allowed client, not because the port is exposed; it is reported, not failed.
    """
    ports = list(ports)
    if open_ports is None:
        open_ports = open_ports_of(target, ports)
    allowed_sources = allowed_sources or {}
    source = controller_address or (source_address_towards(target) if open_ports else None)
    exposed: list[int] = []
    evidence: list[str] = []
    for port in open_ports:
        allowed_by = inside(source, allowed_sources.get(port, ())) if source else None
        line = f"{target.address}:{port} accepts TCP from the controller ({source or 'address unknown'})"
        if allowed_by:
            evidence.append(f"{line}, which is inside the allowed source {allowed_by}")
        else:
            exposed.append(port)
            evidence.insert(len(exposed) - 1, line)
    if exposed:
        return failed(f"sensitive ports reachable from outside: {', '.join(map(str, exposed))}", evidence)
    if evidence:
        return passed("sensitive ports answer only because the controller is an allowed source", evidence)
    return passed("no database/broker port answers from the controller", [f"tested {', '.join(map(str, ports))}"])


def _recv_some(sock: socket.socket, limit: int = 4096) -> bytes:
    try:
        return sock.recv(limit)
    except TimeoutError:
        return b""


def redis_result(target: ProbeTarget, port: int = 6379) -> Result:
    """RDS-03: an unauthenticated PING from another host must get NOAUTH (or be refused)."""
    try:
        with socket.create_connection((target.address, port), timeout=target.timeout) as sock:
            sock.sendall(b"PING\r\n")
            answer = _recv_some(sock).decode("utf-8", "replace").strip()
    except OSError as exc:
        return passed(f"redis port {port} not reachable from the controller", [f"{target.address}:{port}: {exc}"])
    seen = [f"{target.address}:{port} PING -> {answer[:200] or '(no answer)'}"]
    if answer.startswith("-NOAUTH"):
        return passed("unauthenticated PING refused with NOAUTH", seen)
    if answer.startswith("-DENIED"):
        return passed("redis protected mode refused the connection", seen)
    if answer.startswith("+PONG"):
        return failed("unauthenticated PING answered PONG: anyone on the network can use this redis", seen)
    return partial("unexpected answer to an unauthenticated PING", seen)


def postgres_startup(user: str = "postgres", database: str = "postgres") -> bytes:
    """A protocol 3.0 StartupMessage without SSLRequest (plaintext)."""
    body = struct.pack("!I", 196608) + b"".join(
        f"{k}\0{v}\0".encode() for k, v in (("user", user), ("database", database))
    )
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def postgres_result(target: ProbeTarget, port: int = 5432) -> Result:
    """PG-04: a non-TLS startup from another host must be refused."""
    try:
        with socket.create_connection((target.address, port), timeout=target.timeout) as sock:
            sock.sendall(postgres_startup())
            answer = _recv_some(sock)
    except OSError as exc:
        return passed(f"postgres port {port} not reachable from the controller", [f"{target.address}:{port}: {exc}"])
    kind = answer[:1].decode("latin-1")
    text = answer[5:].replace(b"\0", b" ").decode("utf-8", "replace").strip()[:200]
    seen = [f"{target.address}:{port} plaintext startup -> {kind or '(closed)'} {text}".strip()]
    if kind == "R":
        return failed("postgres offers authentication over a plaintext connection (no hostssl-only)", seen)
    if kind == "E" or not answer:
        return passed("plaintext startup refused", seen)
    return partial("unexpected answer to a plaintext startup", seen)


# ----- orchestration ------------------------------------------------------------------------
def worst(results: Sequence[Result]) -> Result:
    """Combine per-endpoint results of one check: the worst status, all evidence."""
    chosen = max(results, key=lambda r: ORDER[r.status])
    evidence = [item for r in results for item in r.evidence]
    messages = "; ".join(dict.fromkeys(r.message for r in results if r.status == chosen.status))
    return Result(chosen.status, messages, evidence)


def to_dicts(results: dict[str, list[Result]]) -> dict[str, dict[str, Any]]:
    out = {}
    for check_id in sorted(results):
        combined = worst(results[check_id])
        out[check_id] = {"status": combined.status.value, "message": combined.message, "evidence": combined.evidence}
    return out


def probe_tls_endpoint(
    target: ProbeTarget, endpoint: TlsEndpoint, ca_file: str | None, ciphers: bool, now: datetime
) -> dict[str, Result]:
    label = f"{endpoint.server_name or target.address}:{endpoint.port}"
    versions = probe_versions(target, endpoint)
    reachable = [hs for hs in versions.values() if hs.outcome == "accepted"]
    if not reachable:
        if all(hs.outcome == "unreachable" for hs in versions.values()):
            detail = next(iter(versions.values())).detail
            return {"TLS-01": error(f"{label} unreachable: {detail}")}
        return {"TLS-01": tls01_result(label, versions)}
    results = {"TLS-01": tls01_result(label, versions)}
    if ciphers:
        results["TLS-02"] = tls02_result(label, probe_tls12_ciphers(target, endpoint))
    der = next(hs.der for hs in reachable if hs.der)
    results.update(certificate_results(label, endpoint, der, now, verify_chain(target, endpoint, ca_file)))
    return results


def run_edge_probe(
    target: ProbeTarget,
    *,
    tls_endpoints: Sequence[TlsEndpoint] = (),
    urls: Sequence[str] = (),
    redirect_names: Sequence[str] = (),
    ports: Sequence[int] = DATA_PORTS,
    allowed_sources: Mapping[int, Sequence[str]] | None = None,
    rate_limit: dict[str, Any] | None = None,
    ca_file: str | None = None,
    tls_ciphers: bool = True,
    now: datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """Run every requested probe against the one target; results keyed by check id."""
    moment = now or datetime.now(UTC)
    collected: dict[str, list[Result]] = {}

    def add(results: dict[str, Result]) -> None:
        for check_id, result in results.items():
            collected.setdefault(check_id, []).append(result)

    for endpoint in tls_endpoints:
        add(probe_tls_endpoint(target, endpoint, ca_file, tls_ciphers, moment))
    for url in urls:
        add(probe_url_headers(target, url))
    if redirect_names:
        add({"TLS-05": redirect_result(target, redirect_names)})
    if ports:
        reachable = open_ports_of(target, ports)
        add({"NET-04": exposure_result(target, ports, reachable, allowed_sources)})
        for port, check_id, probe in ((6379, "RDS-03", redis_result), (5432, "PG-04", postgres_result)):
            if port in reachable:
                add({check_id: probe(target, port)})
            elif port in ports:
                add(
                    {
                        check_id: passed(
                            f"port {port} not reachable from the controller", [f"{target.address}:{port} closed"]
                        )
                    }
                )
    if rate_limit and rate_limit.get("enabled"):
        scheme, port, host_header, path = split_url(str(rate_limit["url"]))
        add(
            {
                "DOS-01": rate_limit_result(
                    target,
                    scheme=scheme,
                    port=port,
                    host_header=host_header,
                    path=path,
                    max_requests=int(rate_limit.get("max_requests", 50)),
                    max_seconds=float(rate_limit.get("max_seconds", 5)),
                )
            }
        )
    return to_dicts(collected)


def split_url(url: str) -> tuple[str, int, str, str]:
    """scheme, port, host header, path of an http(s) URL (the host part is only the Host/SNI)."""
    match = re.fullmatch(r"(https?)://([^/:]+)(?::(\d+))?(/.*)?", url)
    if not match:
        raise ValueError(f"not an http(s) URL: {url!r}")
    scheme, host, port, path = match.groups()
    return scheme, int(port or (443 if scheme == "https" else 80)), host, path or "/"


def probe_url_headers(target: ProbeTarget, url: str) -> dict[str, Result]:
    scheme, port, host_header, path = split_url(url)
    label = f"{scheme}://{host_header}{'' if port in (80, 443) else ':' + str(port)}{path}"
    try:
        ok = http_get(target, scheme, port, host_header, path)
        missing = http_get(target, scheme, port, host_header, path.rstrip("/") + "/rampart-probe-does-not-exist")
    except (OSError, http.client.HTTPException) as exc:
        return {"HDR-01": error(f"{label}: {exc}")}
    results = header_results(label, ok, missing)
    if not 200 <= ok.status < 300:
        note = f"{label}: expected a 2xx response, got {ok.status}"
        results = {k: Result(v.status, v.message, [note, *v.evidence]) for k, v in results.items()}
    return results
