"""Outside-in probes against real local servers on 127.0.0.1 (TLS with generated certs, fakes for redis/postgres)."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import socketserver
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.rampart.hardening.plugins.module_utils.live_probes import (
    ProbeTarget,
    TlsEndpoint,
    allowed_sources_by_port,
    classify_cipher,
    hsts_max_age,
    postgres_startup,
    run_edge_probe,
    san_covers,
    split_url,
)
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sockets import DATA_PORTS
from ansible_collections.rampart.hardening.plugins.modules import edge_probe

NOW = dt.datetime.now(dt.UTC)
LOOPBACK = ProbeTarget("127.0.0.1", timeout=2.0)


def make_cert(tmp: Path, names: list[str], days: int) -> tuple[Path, Path, Path, str]:
    """A CA and a leaf for ``names`` valid ``days`` more days; returns (ca, cert, key, leaf sha256)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Rampart test CA")])
    start = NOW - dt.timedelta(days=1)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(NOW + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path, leaf.fingerprint(hashes.SHA256()).hex()


class Handler(http.server.BaseHTTPRequestHandler):
    extra_headers: list[tuple[str, str]] = []  # noqa: RUF012 - set per server class below
    banner = "nginx"

    def version_string(self) -> str:
        return self.banner

    def do_GET(self) -> None:
        code = 404 if "does-not-exist" in self.path else 200
        self.send_response(code)
        for name, value in self.extra_headers:
            if name == "Strict-Transport-Security" and code != 200 and "always" not in value:
                continue
            self.send_header(name, value.replace("; always", ""))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # failed handshakes are the point of many tests


def serve_tls(
    cert: Path,
    key: Path,
    *,
    minimum: ssl.TLSVersion,
    ciphers: str,
    headers: list[tuple[str, str]],
    banner: str = "nginx",
) -> tuple[QuietServer, int]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy server must accept TLS 1.0
        ctx.minimum_version = minimum
    ctx.set_ciphers(ciphers)
    handler = type("H", (Handler,), {"extra_headers": headers, "banner": banner})
    server = QuietServer(("127.0.0.1", 0), handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


GOOD_HEADERS = [
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; always"),
    ("X-Content-Type-Options", "nosniff; always"),
    ("X-Frame-Options", "DENY; always"),
    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; always"),
    ("Referrer-Policy", "no-referrer; always"),
]
BAD_HEADERS = [("Strict-Transport-Security", "max-age=3600")]


@pytest.fixture
def hardened(tmp_path: Path) -> Iterator[tuple[int, str, Path]]:
    ca, cert, key, fp = make_cert(tmp_path, ["app.example", "www.app.example"], days=80)
    server, port = serve_tls(
        cert, key, minimum=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE+AESGCM:ECDHE+CHACHA20", headers=GOOD_HEADERS
    )
    yield port, fp, ca
    server.shutdown()


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[tuple[int, str, Path]]:
    ca, cert, key, fp = make_cert(tmp_path, ["old.example"], days=10)
    server, port = serve_tls(
        cert, key, minimum=ssl.TLSVersion.TLSv1, ciphers="ALL:@SECLEVEL=0", headers=BAD_HEADERS, banner="nginx/1.22.1"
    )
    yield port, fp, ca
    server.shutdown()


def test_hardened_endpoint_passes(hardened) -> None:
    port, fp, ca = hardened
    results = run_edge_probe(
        LOOPBACK,
        tls_endpoints=[TlsEndpoint(port, "app.example", "SHA256 Fingerprint=" + fp.upper())],
        urls=[f"https://app.example:{port}/"],
        ports=(),
        ca_file=str(ca),
        now=NOW,
    )
    statuses = {k: v["status"] for k, v in results.items()}
    assert statuses["TLS-01"] == "pass", results["TLS-01"]
    assert statuses["TLS-02"] == "pass", results["TLS-02"]
    assert statuses["CRT-01"] == "pass"
    assert statuses["CRT-02"] == "pass"
    assert statuses["CRT-03"] == "pass", results["CRT-03"]
    for check_id in ("HDR-01", "HDR-02", "HDR-03", "HDR-04", "HDR-06", "TLS-07"):
        assert statuses[check_id] == "pass", (check_id, results[check_id])
    assert statuses["HDR-05"] == "not_applicable"
    assert any("TLSv1.3: accepted" in e for e in results["TLS-01"]["evidence"])


def test_legacy_endpoint_fails(legacy) -> None:
    port, _fp, ca = legacy
    results = run_edge_probe(
        LOOPBACK,
        tls_endpoints=[TlsEndpoint(port, "new.example", "00" * 32)],
        urls=[f"https://old.example:{port}/"],
        ports=(),
        ca_file=str(ca),
        now=NOW,
    )
    statuses = {k: v["status"] for k, v in results.items()}
    # This controller's OpenSSL can still offer TLS 1.0 at SECLEVEL=0; if a build cannot, it must say so.
    assert statuses["TLS-01"] in ("fail", "error")
    if statuses["TLS-01"] == "error":
        assert "cannot test" in results["TLS-01"]["message"]
    else:
        assert "TLSv1" in results["TLS-01"]["message"]
    assert statuses["TLS-02"] == "fail"
    assert "weak TLS 1.2 suites" in results["TLS-02"]["message"]
    assert statuses["CRT-01"] == "fail"  # 10 days left (< 14)
    assert statuses["CRT-02"] == "fail"  # served != on disk
    assert statuses["CRT-03"] == "fail"  # SAN does not cover new.example
    assert statuses["HDR-01"] == "fail"
    assert "3600" in results["HDR-01"]["message"]
    assert statuses["HDR-02"] == "fail"
    assert statuses["TLS-07"] == "fail"
    assert "nginx/1.22.1" in results["TLS-07"]["message"]


def test_untrusted_chain_fails_crt03(hardened) -> None:
    port, _fp, _ca = hardened
    results = run_edge_probe(LOOPBACK, tls_endpoints=[TlsEndpoint(port, "app.example")], ports=(), tls_ciphers=False)
    assert results["CRT-03"]["status"] == "fail"
    assert "chain does not verify" in results["CRT-03"]["message"]
    assert "TLS-02" not in results
    assert "CRT-02" not in results  # no on-disk fingerprint given: nothing to compare


def test_unreachable_tls_endpoint_is_an_error() -> None:
    port = free_port()
    results = run_edge_probe(LOOPBACK, tls_endpoints=[TlsEndpoint(port, "x.example")], ports=())
    assert results["TLS-01"]["status"] == "error"
    assert "unreachable" in results["TLS-01"]["message"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LineServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def fake_service(reply: bytes) -> tuple[LineServer, int]:
    class H(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(1024)
            self.request.sendall(reply)

    server = LineServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"+PONG\r\n", "fail"),
        (b"-NOAUTH Authentication required.\r\n", "pass"),
        (b"-DENIED Redis is running in protected mode\r\n", "pass"),
    ],
)
def test_redis_ping(monkeypatch, reply: bytes, expected: str) -> None:
    from ansible_collections.rampart.hardening.plugins.module_utils import live_probes  # noqa: PLC0415

    server, port = fake_service(reply)
    try:
        result = live_probes.redis_result(LOOPBACK, port)
    finally:
        server.shutdown()
    assert result.status.value == expected
    assert reply.decode().strip()[:10] in result.evidence[0]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"R\x00\x00\x00\x0c\x00\x00\x00\x05salt", "fail"),
        (b"E\x00\x00\x00\x50SFATAL\x00C28000\x00Mno pg_hba.conf entry for host, no encryption\x00\x00", "pass"),
    ],
)
def test_postgres_plaintext_startup(reply: bytes, expected: str) -> None:
    from ansible_collections.rampart.hardening.plugins.module_utils import live_probes  # noqa: PLC0415

    server, port = fake_service(reply)
    try:
        result = live_probes.postgres_result(LOOPBACK, port)
    finally:
        server.shutdown()
    assert result.status.value == expected


def test_exposure_lists_open_ports() -> None:
    server, port = fake_service(b"")
    closed = free_port()
    try:
        results = run_edge_probe(LOOPBACK, ports=(port, closed))
    finally:
        server.shutdown()
    assert results["NET-04"]["status"] == "fail"
    assert str(port) in results["NET-04"]["message"]
    assert str(closed) not in results["NET-04"]["message"]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (["127.0.0.0/8"], "pass"),  # the controller (127.0.0.1 here) is an allowed client
        (["127.0.0.1"], "pass"),
        (["10.0.0.0/8", "::1"], "fail"),  # opened to others only: the controller got in anyway
        (["any"], "fail"),  # open to everyone: never excused
        ([], "fail"),
    ],
)
def test_exposure_excuses_a_port_opened_to_the_controller(sources: list[str], expected: str) -> None:
    server, port = fake_service(b"")
    try:
        services = [{"name": "postgresql", "protocol": "tcp", "ports": [port], "sources": sources}]
        results = run_edge_probe(LOOPBACK, ports=(port,), allowed_sources=allowed_sources_by_port(services, (port,)))
    finally:
        server.shutdown()
    result = results["NET-04"]
    assert result["status"] == expected
    assert f"127.0.0.1:{port} accepts TCP from the controller (127.0.0.1)" in result["evidence"][0]
    if expected == "pass":
        assert "inside the allowed source" in result["evidence"][0]


def test_allowed_sources_read_ranges_and_skip_udp_and_any() -> None:
    services = [
        {"ports": ["5000-5500"], "protocol": "tcp", "sources": ["10.0.0.0/24"]},
        {"ports": [5432], "sources": ["192.0.2.7", "any"]},
        {"ports": [6379], "protocol": "udp", "sources": ["10.9.0.0/16"]},
        {"ports": [9200], "protocol": "tcp", "sources": ["any"]},
    ]
    assert allowed_sources_by_port(services, (5432, 6379, 9200)) == {5432: ["10.0.0.0/24", "192.0.2.7"]}


def test_allowed_sources_reject_a_malformed_port() -> None:
    with pytest.raises(ValueError, match="'http' is not a port"):
        allowed_sources_by_port([{"ports": ["http"], "sources": ["10.0.0.0/8"]}], (5432,))


def test_redirect_and_rate_limit(tmp_path: Path) -> None:
    class Redirect(Handler):
        hits = 0

        def do_GET(self) -> None:
            if self.path == "/burst":
                type(self).hits += 1
            if self.path == "/burst" and type(self).hits > 5:
                self.send_response(429)
            elif self.path == "/burst":
                self.send_response(200)
            else:
                self.send_response(301)
                self.send_header("Location", f"https://{self.headers['Host']}/")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = QuietServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    from ansible_collections.rampart.hardening.plugins.module_utils import live_probes  # noqa: PLC0415

    try:
        redirect = live_probes.redirect_result(LOOPBACK, ["a.example", "b.example"], port=port)
        burst = live_probes.rate_limit_result(
            LOOPBACK, scheme="http", port=port, host_header="a.example", path="/burst", max_requests=20, max_seconds=5
        )
    finally:
        server.shutdown()
    assert redirect.status.value == "pass"
    assert "http://a.example/ -> 301 https://a.example/" in redirect.evidence
    assert burst.status.value == "pass"
    assert "after 6 requests" in burst.message


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ECDHE-RSA-AES128-GCM-SHA256", "good"),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", "good"),
        ("DHE-RSA-AES256-GCM-SHA384", "acceptable"),
        ("AES128-GCM-SHA256", "weak"),
        ("ECDHE-RSA-AES128-SHA", "weak"),
        ("DES-CBC3-SHA", "weak"),
        ("ADH-AES256-GCM-SHA384", "weak"),
    ],
)
def test_classify_cipher(name: str, kind: str) -> None:
    assert classify_cipher(name) == kind


def test_small_helpers() -> None:
    assert hsts_max_age('max-age="63072000"; includeSubDomains') == 63072000
    assert hsts_max_age("includeSubDomains") is None
    assert san_covers(["*.example.org"], "www.example.org")
    assert not san_covers(["*.example.org"], "a.b.example.org")
    assert split_url("https://a.example:8443/x") == ("https", 8443, "a.example", "/x")
    assert split_url("http://a.example") == ("http", 80, "a.example", "/")
    with pytest.raises(ValueError, match="not an http"):
        split_url("ftp://x")
    message = postgres_startup()
    assert int.from_bytes(message[:4], "big") == len(message)
    assert b"user\x00postgres\x00" in message


def test_edge_probe_documents_the_ports_it_probes_by_default() -> None:
    # ansible-doc shows DOCUMENTATION, the module uses DATA_PORTS: they must not drift apart.
    documented = yaml.safe_load(edge_probe.DOCUMENTATION)["options"]["ports"]["default"]
    assert documented == list(DATA_PORTS)
    assert edge_probe.ARGUMENT_SPEC["ports"]["default"] == list(DATA_PORTS)
