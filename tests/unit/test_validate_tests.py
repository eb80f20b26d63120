"""The Jinja tests roles use to reject bad input before changing anything."""

import pytest

from ansible_collections.rampart.hardening.plugins.test import validate


@pytest.mark.parametrize("value", ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1", "0.0.0.0/0"])
def test_cidr_accepts_networks(value: str) -> None:
    assert validate.cidr(value)


@pytest.mark.parametrize("value", ["10.0.0.0/33", "300.1.1.1", "", " ", "any", None, 10, "10.0.0.0/8 "])
def test_cidr_rejects_garbage(value: object) -> None:
    assert not validate.cidr(value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [(1, True), (65535, True), ("443", True), (0, False), (65536, False), (True, False), ("22a", False), (None, False)],
)
def test_port(value: object, ok: bool) -> None:
    assert validate.port(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("10r/s", True), ("5r/m", True), ("0r/s", False), ("10r/h", False), ("10 r/s", False), ("10", False)],
)
def test_nginx_rate(value: str, ok: bool) -> None:
    assert validate.nginx_rate(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("10m", True),
        ("512k", True),
        ("1G", True),
        (1024, True),
        ("0", True),
        ("10mb", False),
        ("-1", False),
        ("", False),
        (-5, False),
    ],
)
def test_nginx_size(value: object, ok: bool) -> None:
    assert validate.nginx_size(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("10s", True),
        ("1m30s", True),
        ("500ms", True),
        (10, True),
        ("0", True),
        ("10 s", False),
        ("s", False),
        ("1y", False),
    ],
)
def test_nginx_time(value: object, ok: bool) -> None:
    assert validate.nginx_time(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("max-age=63072000; includeSubDomains", True),
        ("default-src 'self'", True),
        ("nosniff\r\nSet-Cookie: x=1", False),
        ("a\nb", False),
        ('a" always; add_header X-Evil "1', False),
        ("value;", False),
        (42, False),
    ],
)
def test_header_value(value: object, ok: bool) -> None:
    assert validate.header_value(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("example.com", True),
        ("*.example.com", True),
        ("a-b.c", True),
        ("10.0.0.1", True),
        ("-bad.com", False),
        ("bad_underscore.com", False),
        ("a..b", False),
        ("", False),
        ("x" * 64 + ".com", False),
    ],
)
def test_server_name(value: str, ok: bool) -> None:
    assert validate.server_name(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("127.0.0.1:8080", True),
        ("app.internal:443", True),
        ("[::1]:80", True),
        ("unix:/run/app.sock", True),
        ("backend", True),
        ("127.0.0.1:0", False),
        ("[::1]:x", False),
        ("host:99999", False),
        ("", False),
    ],
)
def test_host_port(value: str, ok: bool) -> None:
    assert validate.host_port(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("Zq3!xT9#pL2@wB7$", True),
        ("short", False),
        ("Password123", False),
        ("PASSWORD", False),
        ("admin123", False),
        ("123456789012", False),
        (None, False),
    ],
)
def test_strong_secret(value: object, ok: bool) -> None:
    assert validate.strong_secret(value) is ok


def test_every_test_is_exported() -> None:
    exported = validate.TestModule().tests()
    assert set(exported) == {
        "cidr",
        "ip_address",
        "port",
        "nginx_rate",
        "nginx_size",
        "nginx_time",
        "header_value",
        "server_name",
        "host_port",
        "strong_secret",
        "world_open",
        "wildcard_bind",
        "exposed_bind",
        "data_port",
    }
