"""nginx parser helpers for spellings nginx treats alike: flags, protocol names, access rules."""

from __future__ import annotations

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import nginx as parser


def dump(body: str) -> str:
    return f"# configuration file /etc/nginx/nginx.conf:\n{body}\n"


def only_location(body: str) -> parser.Context:
    config = parser.parse_dump(dump(body))
    return parser.locations(config.servers()[0])[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("autoindex on;", True),
        ("autoindex ON;", True),
        ('autoindex "On";', True),
        ("autoindex off;", False),
        ("autoindex OFF;", False),
        ("autoindex yes;", None),
        ("autoindex;", None),
    ],
)
def test_flag_is_case_insensitive_like_nginx(text, expected):
    directive = parser.parse_text(text)[0]
    assert parser.flag(directive) is expected


def test_flag_of_an_unset_directive_is_none():
    assert parser.flag(None) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("tlsv1", "TLSv1"), ("TLSV1.1", "TLSv1.1"), ("TLSv1.3", "TLSv1.3"), ("sslv3", "SSLv3"), ("TLSv1.4", "TLSv1.4")],
)
def test_canonical_protocol(name, expected):
    assert parser.canonical_protocol(name) == expected


def test_legacy_ssl_on_in_any_case_makes_a_tls_server():
    config = parser.parse_dump(dump("http { server { listen 8443; ssl ON; } server { listen 8444; ssl off; } }"))
    assert [parser.is_tls_server(s.block) for s in config.servers()] == [True, False]


def test_allow_and_deny_share_one_inherited_list():
    body = "http { server { allow 10.0.0.0/8; deny all; location /a/ { allow 192.168.0.0/16; } } }"
    rules = only_location(body).nearest_any(("allow", "deny"))
    assert [d.text() for d in rules] == ["allow 192.168.0.0/16"]


def test_allow_and_deny_are_inherited_when_a_level_has_none():
    body = "http { server { allow 10.0.0.0/8; deny all; location /a/ { root /srv; } } }"
    rules = only_location(body).nearest_any(("allow", "deny"))
    assert [d.text() for d in rules] == ["allow 10.0.0.0/8", "deny all"]


def rules_of(text: str) -> list[parser.Directive]:
    return parser.parse_text(text)


@pytest.mark.parametrize(
    ("text", "version", "unmatched_allowed", "expected"),
    [
        ("allow all; deny all;", 4, True, True),
        ("deny all; allow all;", 4, True, False),
        ("allow 10.0.0.0/8; deny all;", 4, True, False),
        ("allow 10.0.0.0/8; deny all;", 6, True, False),
        ("allow 10.0.0.0/8; deny 0.0.0.0/0;", 6, True, True),  # no IPv6 rule: IPv6 clients unmatched
        ("allow 10.0.0.0/8; deny 0.0.0.0/0;", 6, False, False),  # ... but under satisfy any they need auth
        ("allow 0.0.0.0/1; allow 128.0.0.0/1; deny all;", 4, True, True),
        ("allow 0.0.0.0/1; deny all; allow 128.0.0.0/1;", 4, True, False),
        ("allow ::/0; deny all;", 6, False, True),
        ("allow 10.0.0.300/8; deny all;", 4, True, False),  # unreadable address: matches nothing
        ("allow unix:; deny all;", 4, True, False),
        ("", 4, True, True),
        ("", 4, False, False),
    ],
)
def test_allows_whole_family(text, version, unmatched_allowed, expected):
    rules = rules_of(text)
    assert parser.allows_whole_family(rules, version, unmatched_allowed=unmatched_allowed) is expected


def test_quic_listen_is_its_own_socket():
    config = parser.parse_dump(
        dump("http { server { listen 443 ssl; listen 443 quic reuseport; listen [::]:443 quic; } }")
    )
    found = parser.listens(config.servers()[0].block)
    assert [(item.socket, item.ssl, item.quic) for item in found] == [
        ("*:443", True, False),
        ("*:443/quic", False, True),
        ("[::]:443/quic", False, True),
    ]


def test_stream_servers_are_listed_apart_from_http_servers():
    body = "stream { server { listen 8443 ssl; proxy_pass 127.0.0.1:5432; } } http { server { listen 80; } }"
    config = parser.parse_dump(dump(body))
    assert len(config.servers()) == 1
    streams = config.stream_servers()
    assert [parser.is_tls_server(s.block) for s in streams] == [True]
    assert streams[0].label().startswith("stream server @")


def test_no_stream_block_means_no_stream_servers():
    assert parser.parse_dump(dump("http { server { listen 80; } }")).stream_servers() == []
