"""nginx -T parsing: include expansion, block tree, inheritance, listen/time/size helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import nginx as parser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nginx"


def dump(*files: tuple[str, str]) -> str:
    return "".join(f"# configuration file {path}:\n{body}\n" for path, body in files)


def test_hardened_lab_dump_expands_includes_in_glob_order():
    config = parser.parse_dump((FIXTURES / "hardened.txt").read_text())
    assert config.files[0] == "/etc/nginx/nginx.conf"
    assert "/etc/nginx/rampart/security-headers.conf" in config.files
    servers = config.servers()
    assert len(servers) == 4
    tls = [s for s in servers if parser.is_tls_server(s.block)]
    assert [parser.server_names(s.block) for s in tls] == [["_"], ["app.example.test", "www.example.test"]]
    # the headers file included inside the server block became the server's own add_header set
    headers = [d.args[0] for d in tls[1].nearest("add_header")]
    assert headers[0] == "Strict-Transport-Security"
    assert tls[1].value("ssl_protocols").args == ("TLSv1.2", "TLSv1.3")  # from conf.d via http


def test_stock_debian_dump():
    config = parser.parse_dump((FIXTURES / "stock-debian.txt").read_text())
    assert config.files == ["/etc/nginx/nginx.conf", "/etc/nginx/mime.types", "/etc/nginx/sites-enabled/default"]
    (server,) = config.servers()
    assert [item.socket for item in parser.listens(server.block)] == ["*:80", "[::]:80"]
    assert all(item.default_server for item in parser.listens(server.block))
    assert config.http.find("types")  # mime.types was expanded into http


def test_add_header_in_location_replaces_inherited_set():
    text = dump(
        (
            "/etc/nginx/nginx.conf",
            "http { add_header A 1; server { add_header B 2; location / { add_header C 3; } location /x { } } }",
        )
    )
    (server,) = parser.parse_dump(text).servers()
    first, second = parser.locations(server)
    assert [d.args[0] for d in first.nearest("add_header")] == ["C"]
    assert [d.args[0] for d in second.nearest("add_header")] == ["B"]


def test_nested_locations_if_quotes_variables_and_lua():
    body = r"""
http {
  server {
    listen [::1]:8443 ssl default_server;
    return 301 "https://${host}$request_uri";
    location /a { location /a/b { deny all; } }
    if ($request_method !~ ^(GET|HEAD)$ ) { return 405; }
    content_by_lua_block { local t = { a = "}" } ngx.say(t.a) }
    add_header X-Test 'single quoted; with semicolon' always;
  }
}"""
    (server,) = parser.parse_dump(dump(("/etc/nginx/nginx.conf", body))).servers()
    assert [c.label() for c in parser.locations(server)][-1].endswith("location /a/b")
    assert server.block.find("return")[0].args == ("301", "https://${host}$request_uri")
    assert server.block.find("add_header")[0].args[1] == "single quoted; with semicolon"
    listen = parser.listens(server.block)[0]
    assert (listen.address, listen.port, listen.ssl, listen.default_server) == ("[::1]", 8443, True, True)
    assert server.block.find("if")[0].find("return")[0].args == ("405",)


def test_relative_include_and_unmatched_glob():
    text = dump(
        ("/etc/nginx/nginx.conf", "http { include snippets/*.conf; include /nowhere/*.conf; }"),
        ("/etc/nginx/snippets/b.conf", "server_tokens off;"),
        ("/etc/nginx/snippets/a.conf", "keepalive_timeout 5s;"),
    )
    http = parser.parse_dump(text).http
    assert [d.name for d in http.children] == ["keepalive_timeout", "server_tokens"]


def test_include_loop_is_a_parse_error():
    text = dump(
        ("/etc/nginx/nginx.conf", "include /etc/nginx/loop.conf;"),
        ("/etc/nginx/loop.conf", "include /etc/nginx/loop.conf;"),
    )
    with pytest.raises(ParseError, match="include"):
        parser.parse_dump(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("user www-data;\n", "no '# configuration file"),
        (dump(("/etc/nginx/nginx.conf", "http { server { listen 80; }")), "expecting '}'"),
        (dump(("/etc/nginx/nginx.conf", "http { } }")), "unexpected '}'"),
        (dump(("/etc/nginx/nginx.conf", "worker_processes auto")), "unexpected end of file"),
        (dump(("/etc/nginx/nginx.conf", 'add_header X "unterminated;')), "unterminated"),
        (dump(("/etc/nginx/nginx.conf", "http { ; }")), "unexpected ';'"),
    ],
)
def test_garbage_raises_clear_parse_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parser.parse_dump(text)


@pytest.mark.parametrize(("value", "seconds"), [("10", 10), ("10s", 10), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600)])
def test_parse_time(value, seconds):
    assert parser.parse_time(value) == seconds


@pytest.mark.parametrize(("value", "size"), [("512", 512), ("16k", 16384), ("1m", 1048576), ("2G", 2 * 1024**3)])
def test_parse_size(value, size):
    assert parser.parse_size(value) == size


def test_parse_rate_and_bad_units():
    assert parser.parse_rate("rate=30r/m") == 0.5
    assert parser.parse_rate("10r/s") == 10
    for function, value in ((parser.parse_time, "10x"), (parser.parse_size, "1t"), (parser.parse_rate, "10r/h")):
        with pytest.raises(ParseError):
            function(value)


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("443 ssl", ("*", 443, True)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080, False)),
        ("localhost", ("localhost", 80, False)),
        ("[::]:443 ssl http2", ("[::]", 443, True)),
    ],
)
def test_listen_forms(listen, expected):
    (directive,) = parser.parse_text(f"listen {listen};")
    item = parser.parse_listen(directive)
    assert (item.address, item.port, item.ssl) == expected


def test_unix_listen_is_ignored_and_missing_listen_defaults_to_80():
    (server,) = parser.parse_text("server { listen unix:/run/app.sock; }")
    assert parser.listens(server) == []
    (bare,) = parser.parse_text("server { }")
    assert [item.socket for item in parser.listens(bare)] == ["*:80"]
