"""nginx spellings and layouts the lab fixture does not use (audit-nginx-tls).

Each test is a realistic ``nginx -T`` variant of the hardened lab whose meaning nginx
defines differently from the fixture's spelling: flags are case-insensitive, a catch-all
that only rejects TLS handshakes still answers plain HTTP, access rules are first-match and
a level with its own allow/deny replaces its parent's, and chains can hold expired CAs.
"""

from __future__ import annotations

import pytest
from check_helpers import HARDENED, assert_status, make_cert, nginx_facts, replace, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nginx import parse_dump

HTPASSWD = "/etc/nginx/rampart/htpasswd"
SHA512 = "admin:$6$Pz3H2c0tXwYw5qTb$Jt9F2lD8a0f2o7VvBq3b6mS7n1mQqkzA0c3tO2fQ0bq0Fv0s9r2yZl1pQ7mT5u6w8x9yZ0a1b2c3d\n"
AUTH_LINES = 'auth_basic "Restricted";\n\t\tauth_basic_user_file /etc/nginx/rampart/htpasswd;'
CATCH_ALLS = """server {
\tlisten 80 default_server;
\tlisten [::]:80 default_server;
\tserver_name _;
\treturn 444;
}

server {
\tlisten 443 ssl default_server;
\tlisten [::]:443 ssl default_server;
\tserver_name _;
\tssl_reject_handshake on;
}
"""
# One catch-all for both ports that only rejects TLS handshakes: on port 80 there is no
# handshake to reject, so nginx serves its default root to any Host (the "Welcome" page).
HANDSHAKE_ONLY_CATCH_ALL = """server {
\tlisten 80 default_server;
\tlisten [::]:80 default_server;
\tlisten 443 ssl default_server;
\tlisten [::]:443 ssl default_server;
\tserver_name _;
\tssl_reject_handshake on;
}
"""
LEGACY_SERVER = """
server {
\tlisten 8443;
\tserver_name legacy.example.test;
\tssl ON;
\tssl_certificate /etc/ssl/rampart/app.crt;
\tssl_certificate_key /etc/ssl/rampart/app.key;
\tssl_protocols TLSv1 TLSv1.1 TLSv1.2;
\treturn 404;
}
"""


def facts(make_facts, text=HARDENED, files=None):
    return nginx_facts(make_facts, text=text, files={HTPASSWD: (SHA512, 0o640), **(files or {})})


# ----- flags: nginx compares on/off case-insensitively (ngx_conf_set_flag_slot) ---------------
def test_autoindex_in_capitals_is_a_directory_listing(make_facts):
    text = replace("location = /login {", "location = /login {\n\t\tautoindex ON;")(HARDENED)
    result = run("TLS-07", facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "autoindex ON" in result.message


def test_server_tokens_off_in_capitals_is_off(make_facts):
    text = replace("server_tokens off;", "server_tokens OFF;")(HARDENED)
    assert_status(run("TLS-07", facts(make_facts, text=text)), Status.PASS)


def test_legacy_ssl_on_in_capitals_makes_a_tls_server(make_facts):
    # 'ssl on;' (nginx < 1.25.1) turns every listen of the server into TLS; 'ssl ON;' too.
    text = HARDENED.replace(
        "# configuration file /etc/nginx/rampart/", LEGACY_SERVER + "\n# configuration file /etc/nginx/rampart/", 1
    )
    result = run("TLS-01", facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "legacy.example.test accepts TLSv1, TLSv1.1" in result.message


@pytest.mark.parametrize(
    ("protocols", "expected", "needle"),
    [
        ("tlsv1.2 tlsv1.3", Status.PASS, ""),
        ("TLSV1.2 TLSv1.3", Status.PASS, ""),
        ("tlsv1 TLSv1.2 TLSv1.3", Status.FAIL, "accepts TLSv1"),
        ("SSLv3 TLSv1.2", Status.FAIL, "accepts SSLv3"),
        ("TLSv1.4", Status.FAIL, "TLSv1.4"),  # not a protocol nginx knows: never counted as safe
    ],
)
def test_ssl_protocols_are_case_insensitive(make_facts, protocols, expected, needle):
    text = replace("ssl_protocols TLSv1.2 TLSv1.3;", f"ssl_protocols {protocols};")(HARDENED)
    result = run("TLS-01", facts(make_facts, text=text))
    assert_status(result, expected)
    assert needle in result.message


def test_ssl_protocols_in_capitals_still_see_tls12_under_the_modern_profile(make_facts):
    text = replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSV1.2 TLSv1.3;")(HARDENED)
    tree = {"/etc/rampart/intent/nginx.json": '{"tls_profile": "modern"}'}
    assert_status(run("TLS-01", facts(make_facts, text=text, files=tree)), Status.PARTIAL)


def test_session_tickets_off_in_capitals_is_off(make_facts):
    text = replace("ssl_session_tickets off;", "ssl_session_tickets OFF;")(HARDENED)
    assert_status(run("TLS-03", facts(make_facts, text=text)), Status.PASS)
    text = replace("ssl_session_tickets off;", "ssl_session_tickets on;")(HARDENED)
    assert_status(run("TLS-03", facts(make_facts, text=text)), Status.FAIL)


# ----- ssl_reject_handshake refuses TLS only --------------------------------------------------
def test_handshake_only_catch_all_still_answers_plain_http(make_facts):
    text = replace(CATCH_ALLS, HANDSHAKE_ONLY_CATCH_ALL)(HARDENED)
    result = run("TLS-06", facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "*:80" in result.message
    assert "*:443" not in " ".join(result.evidence[:1])
    assert_status(run("TLS-05", facts(make_facts, text=text)), Status.FAIL)


def test_catch_all_rejecting_handshakes_and_returning_444_passes(make_facts):
    both = HANDSHAKE_ONLY_CATCH_ALL.replace("ssl_reject_handshake on;", "ssl_reject_handshake on;\n\treturn 444;")
    text = replace(CATCH_ALLS, both)(HARDENED)
    assert_status(run("TLS-06", facts(make_facts, text=text)), Status.PASS)
    assert_status(run("TLS-05", facts(make_facts, text=text)), Status.PASS)


def test_reject_handshake_in_capitals_refuses(make_facts):
    text = replace("ssl_reject_handshake on;", "ssl_reject_handshake ON;")(HARDENED)
    assert_status(run("TLS-06", facts(make_facts, text=text)), Status.PASS)


# ----- AUTH-01: access rules are first-match, and a level's own rules replace its parent's ----
@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("allow all;\n\t\tdeny all;", Status.FAIL),  # first match wins: everyone is allowed
        ("allow 0.0.0.0/0;\n\t\tallow ::/0;\n\t\tdeny all;", Status.FAIL),
        ("allow 0.0.0.0/1;\n\t\tallow 128.0.0.0/1;\n\t\tallow ::/0;\n\t\tdeny all;", Status.FAIL),
        ("allow 10.0.0.0/8;\n\t\tdeny 0.0.0.0/0;", Status.FAIL),  # IPv6 clients match no rule: allowed
        ("allow 10.0.0.0/8;\n\t\tallow fd00::/8;\n\t\tdeny all;", Status.PARTIAL),
        ("deny 203.0.113.7;\n\t\tallow 10.0.0.0/8;\n\t\tdeny all;", Status.PARTIAL),
        ("allow 10.0.0.0/8;\n\t\tdeny 0.0.0.0/0;\n\t\tdeny ::/0;", Status.PARTIAL),
    ],
)
def test_ip_allowlist_is_judged_by_what_it_lets_through(make_facts, rules, expected):
    text = replace(AUTH_LINES, rules)(HARDENED)
    assert_status(run("AUTH-01", facts(make_facts, text=text)), expected)


def test_location_allow_replaces_the_servers_deny_all(make_facts):
    # The server allowlists 10/8; the admin location adds its own 'allow' and so drops 'deny all'.
    text = replace("limit_conn rampart_conn 20;", "limit_conn rampart_conn 20;\n\tallow 10.0.0.0/8;\n\tdeny all;")(
        HARDENED
    )
    text = replace(AUTH_LINES, "allow 192.168.0.0/16;")(text)
    result = run("AUTH-01", facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "/admin/" in result.message


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("satisfy any;\n\t\tallow all;", Status.FAIL),  # any client passes the access module: no password
        ("satisfy ANY;\n\t\tallow 0.0.0.0/0;\n\t\tallow ::/0;", Status.FAIL),
        ("satisfy any;\n\t\tallow 10.0.0.0/8;\n\t\tdeny all;", Status.PASS),  # others still need the password
        ("satisfy all;\n\t\tallow all;", Status.PASS),
    ],
)
def test_satisfy_any_with_an_open_allow_bypasses_the_password(make_facts, rules, expected):
    text = replace(AUTH_LINES, AUTH_LINES + "\n\t\t" + rules)(HARDENED)
    assert_status(run("AUTH-01", facts(make_facts, text=text)), expected)


def test_unreadable_access_rule_does_not_crash(make_facts):
    # Only reachable from the files on disk (nginx -t would refuse it): judged without the rule.
    text = replace(AUTH_LINES, "allow 10.0.0.300/8;\n\t\tdeny all;")(HARDENED)
    assert_status(run("AUTH-01", facts(make_facts, text=text)), Status.PARTIAL)


# ----- AUTH-01: admin paths written as regex locations ----------------------------------------
@pytest.mark.parametrize(
    "location",
    ["location ~ ^/(admin|backoffice)/ {", "location ~* ^/(?:wp-admin|manage)/ {", "location ~ /admin {"],
)
def test_regex_admin_location_without_auth_fails(make_facts, location):
    text = replace(AUTH_LINES, "")(replace("location /admin/ {", location)(HARDENED))
    result = run("AUTH-01", facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "reachable without authentication" in result.message


def test_regex_admin_location_with_auth_passes(make_facts):
    text = replace("location /admin/ {", "location ~ ^/(admin|backoffice)/ {")(HARDENED)
    assert_status(run("AUTH-01", facts(make_facts, text=text)), Status.PASS)


# ----- CRT-03: a CA certificate of the served chain has expired ---------------------------------
CERT = "/etc/ssl/rampart/app.crt"
KEY = "/etc/ssl/rampart/app.key"
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def chain_facts(make_facts, intermediate_days_left):
    root_pem, _unused, root = make_cert(names=(), days_left=3000, lifetime=3650)
    inter_pem, _unused, inter = make_cert(names=(), days_left=intermediate_days_left, lifetime=1800, issuer=root)
    leaf_pem, key_pem, _unused = make_cert(names=("app.example.test", "www.example.test"), days_left=20, issuer=inter)
    tree = {CERT: leaf_pem + inter_pem, KEY: (key_pem, 0o600), BUNDLE: root_pem}
    return facts(make_facts, files=tree)


def test_chain_with_an_expired_intermediate_fails(make_facts):
    result = run("CRT-03", chain_facts(make_facts, intermediate_days_left=-3))
    assert_status(result, Status.FAIL)
    assert "expired" in result.message


def test_chain_with_a_valid_intermediate_passes(make_facts):
    assert_status(run("CRT-03", chain_facts(make_facts, intermediate_days_left=400)), Status.PASS)


# ----- relative file paths resolve under the conf prefix (/etc/nginx), as nginx opens them ------
def test_relative_certificate_path_is_read_under_the_conf_prefix(make_facts):
    expired, key_pem, _unused = make_cert(names=("app.example.test", "www.example.test"), days_left=-2)
    text = replace("ssl_certificate /etc/ssl/rampart/app.crt;", "ssl_certificate ssl/app.crt;")(HARDENED)
    text = replace("ssl_certificate_key /etc/ssl/rampart/app.key;", "ssl_certificate_key ssl/app.key;")(text)
    tree = {"/etc/nginx/ssl/app.crt": expired, "/etc/nginx/ssl/app.key": (key_pem, 0o644)}
    result = run("CRT-01", facts(make_facts, text=text, files=tree))
    assert_status(result, Status.FAIL)
    assert "/etc/nginx/ssl/app.crt EXPIRED" in result.message
    result = run("CRT-07", facts(make_facts, text=text, files=tree))
    assert_status(result, Status.FAIL)
    assert "/etc/nginx/ssl/app.key" in result.message
    assert "readable beyond its owner" in result.message


def test_relative_certificate_next_to_a_readable_one_is_still_judged(make_facts):
    # Before: the relative file was "not inspected" and the good absolute one made it a partial.
    expired, _unused, _unused = make_cert(names=("legacy.example.test",), days_left=-2)
    text = HARDENED.replace(
        "# configuration file /etc/nginx/rampart/",
        LEGACY_SERVER.replace("/etc/ssl/rampart/app.crt", "ssl/legacy.crt")
        + "\n# configuration file /etc/nginx/rampart/",
        1,
    )
    good, _unused, _unused = make_cert(names=("app.example.test", "www.example.test"))
    tree = {"/etc/nginx/ssl/legacy.crt": expired, CERT: good}
    assert_status(run("CRT-01", facts(make_facts, text=text, files=tree)), Status.FAIL)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [("admin:$apr1$Qc3j0fHr$0Hq1k9bI3JQm7X2yZ8aWb/\n", Status.FAIL), (SHA512, Status.PASS)],
)
def test_relative_htpasswd_path_is_read_under_the_conf_prefix(make_facts, entry, expected):
    text = replace("auth_basic_user_file /etc/nginx/rampart/htpasswd;", "auth_basic_user_file rampart/htpasswd;")(
        HARDENED
    )
    result = run("AUTH-02", facts(make_facts, text=text, files={HTPASSWD: (entry, 0o640)}))
    assert_status(result, expected)


def test_relative_file_path_helper_keeps_absolute_and_variable_paths(make_facts):
    config = parse_dump(HARDENED)
    assert config.file_path("ssl/a.crt") == "/etc/nginx/ssl/a.crt"
    assert config.file_path("/etc/ssl/a.crt") == "/etc/ssl/a.crt"
    assert config.file_path("certs/$ssl_server_name.crt") == "certs/$ssl_server_name.crt"


# ----- DOS-03: a zero body size in any unit is unlimited ----------------------------------------
@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("0", Status.FAIL),
        ("0m", Status.FAIL),
        ("0K", Status.FAIL),
        ("00", Status.FAIL),
        ("16k", Status.PASS),
        ("1 m", Status.FAIL),
    ],
)
def test_zero_body_size_in_any_unit_is_unlimited(make_facts, size, expected):
    text = replace("client_max_body_size 16k;", f'client_max_body_size "{size}";')(HARDENED)
    assert_status(run("DOS-03", facts(make_facts, text=text)), expected)


# ----- HDR: nginx does not send an add_header whose value is empty ------------------------------
@pytest.mark.parametrize(
    ("header", "check_id", "needle"),
    [
        ("Content-Security-Policy", "HDR-04", "no Content-Security-Policy"),
        ("Referrer-Policy", "HDR-04", "no Referrer-Policy"),
        ("X-Content-Type-Options", "HDR-02", "no x-content-type-options"),
    ],
)
def test_empty_add_header_value_sends_no_header(make_facts, header, check_id, needle):
    # A location "switching off" the header with an empty value (and repeating the others).
    headers = fixture_headers().replace(f'add_header {header} "', f'add_header {header} "";\n# was "')
    text = replace("location = /login {", "location = /login {\n" + headers)(HARDENED)
    result = run(check_id, facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert needle in result.message
    assert "location = /login" in result.message


def test_repeated_headers_in_a_location_pass(make_facts):
    text = replace("location = /login {", "location = /login {\n" + fixture_headers())(HARDENED)
    for check_id in ("HDR-02", "HDR-04"):
        assert_status(run(check_id, facts(make_facts, text=text)), Status.PASS)


def fixture_headers() -> str:
    start = HARDENED.index("# configuration file /etc/nginx/rampart/security-headers.conf:")
    return HARDENED[start:].split("\n", 1)[1]


# ----- QUIC listens are their own (UDP) sockets, and TLS -----------------------------------------
TCP_LISTENS = "listen 443 ssl http2;\n\tlisten [::]:443 ssl http2;"
QUIC_LISTENS = TCP_LISTENS + "\n\tlisten 443 quic reuseport;\n\tlisten [::]:443 quic reuseport;"


def test_quic_socket_has_its_own_default_server(make_facts):
    # The catch-all covers TCP 443 only: on UDP 443 (HTTP/3) the app is the default server.
    text = replace(TCP_LISTENS, QUIC_LISTENS)(HARDENED)
    result = run("TLS-06", facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "*:443/quic" in result.message


def test_quic_listens_on_the_catch_all_refuse_too(make_facts):
    text = replace(TCP_LISTENS, QUIC_LISTENS)(HARDENED)
    text = replace(
        "listen [::]:443 ssl default_server;",
        "listen [::]:443 ssl default_server;\n\tlisten 443 quic default_server;"
        "\n\tlisten [::]:443 quic default_server;",
    )(text)
    assert_status(run("TLS-06", facts(make_facts, text=text)), Status.PASS)
    # HTTP/3 is TLS 1.3: a quic listen is not plain HTTP.
    assert_status(run("TLS-05", facts(make_facts, text=text)), Status.PASS)


# ----- stream {} TLS endpoints (ngx_stream_ssl_module) -------------------------------------------
STREAM = """
stream {
\tserver {
\t\tlisten 8443 ssl;
\t\tproxy_pass 127.0.0.1:5432;
\t\tssl_certificate /etc/ssl/rampart/app.crt;
\t\tssl_certificate_key /etc/ssl/rampart/app.key;
\t\tssl_protocols TLSv1 TLSv1.1 TLSv1.2;
\t\tssl_ciphers AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256;
\t}
}
"""


def test_stream_tls_endpoint_is_judged(make_facts):
    text = replace("\nhttp {", STREAM + "\nhttp {")(HARDENED)
    result = run("TLS-01", facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "stream server" in result.message
    assert "TLSv1" in result.message


def test_stream_tls_endpoint_with_good_protocols_passes(make_facts):
    text = replace("\nhttp {", STREAM.replace("TLSv1 TLSv1.1 TLSv1.2", "TLSv1.2 TLSv1.3") + "\nhttp {")(HARDENED)
    assert_status(run("TLS-01", facts(make_facts, text=text)), Status.PASS)


def test_stream_without_tls_is_ignored(make_facts):
    plain = "\nstream {\n\tserver {\n\t\tlisten 5433;\n\t\tproxy_pass 127.0.0.1:5432;\n\t}\n}\n"
    text = replace("\nhttp {", plain + "\nhttp {")(HARDENED)
    for check_id in ("TLS-01", "TLS-02", "TLS-06"):
        assert_status(run(check_id, facts(make_facts, text=text)), Status.PASS)


# ----- DOS-01/02/06: limits in dry-run mode limit nothing ----------------------------------------
@pytest.mark.parametrize(
    ("where", "dry_run", "check_id", "expected"),
    [
        ("http", "limit_req_dry_run on;", "DOS-01", Status.FAIL),
        ("location", "limit_req_dry_run ON;", "DOS-01", Status.FAIL),
        ("http", "limit_req_dry_run off;", "DOS-01", Status.PASS),
        ("http", "limit_conn_dry_run on;", "DOS-02", Status.FAIL),
        ("http", "limit_conn_dry_run off;", "DOS-02", Status.PASS),
    ],
)
def test_limits_in_dry_run_mode_limit_nothing(make_facts, where, dry_run, check_id, expected):
    if where == "http":
        text = replace("limit_req_status 429;", f"limit_req_status 429;\n{dry_run}")(HARDENED)
    else:
        text = replace("location / {", f"location / {{\n\t\t{dry_run}")(HARDENED)
    result = run(check_id, facts(make_facts, text=text))
    assert_status(result, expected)
    if expected is Status.FAIL:
        assert "dry-run" in result.message


def test_dry_run_on_the_login_path_is_no_brute_force_protection(make_facts):
    text = replace("location = /login {", "location = /login {\n\t\tlimit_req_dry_run on;")(HARDENED)
    result = run("DOS-06", facts(make_facts, text=text))
    assert "location = /login" in " ".join(result.evidence)
    assert "limit_req_dry_run on" in " ".join(result.evidence)


# ----- TLS-10: each proxy module has its own *_ssl_verify, and fastcgi/uwsgi/scgi pass too ------
PROXY = "proxy_pass http://127.0.0.1:8080;\n\t\tproxy_set_header"


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        ("grpc_ssl_verify on;\n\t\tproxy_pass https://93.184.215.14;", Status.FAIL),  # wrong module's verify
        ("proxy_ssl_verify on;\n\t\tgrpc_pass grpcs://93.184.215.14:443;", Status.FAIL),
        ("grpc_ssl_verify on;\n\t\tgrpc_pass grpcs://93.184.215.14:443;", Status.PASS),
        ("fastcgi_pass 93.184.215.14:9000;", Status.FAIL),  # FastCGI is clear text
        ("fastcgi_pass unix:/run/php/php8.2-fpm.sock;", Status.PASS),
        ("fastcgi_pass 10.0.0.5:9000;", Status.PASS),
        ("uwsgi_pass 93.184.215.14:3031;", Status.FAIL),
        ("uwsgi_ssl_verify on;\n\t\tuwsgi_pass suwsgi://93.184.215.14:3031;", Status.PASS),
        ("scgi_pass [2606:2800:220:1::1]:4000;", Status.FAIL),
    ],
)
def test_upstream_modules_are_judged_by_their_own_settings(make_facts, upstream, expected):
    text = replace(PROXY, upstream + "\n\t\tproxy_set_header")(HARDENED)
    result = run("TLS-10", facts(make_facts, text=text))
    assert_status(result, expected)


# ----- AUTH-01: a regex location wins over the admin prefix location ------------------------------
PHP = "\n\tlocation ~ \\.php$ {\n\t\tfastcgi_pass unix:/run/php/php8.2-fpm.sock;\n\t}\n"


def with_regex_location(regex_block: str, admin: str = "location /admin/ {") -> str:
    text = replace("location /admin/ {", admin)(HARDENED)
    return replace("\tlocation = /login {", regex_block.lstrip("\n") + "\n\tlocation = /login {")(text)


def test_regex_location_takes_admin_requests_without_auth(make_facts):
    # /admin/index.php matches '~ \.php$', which nginx prefers over the prefix location /admin/.
    result = run("AUTH-01", facts(make_facts, text=with_regex_location(PHP)))
    assert_status(result, Status.FAIL)
    assert "~ \\.php$" in result.message
    assert "/admin/" in result.message


@pytest.mark.parametrize(
    ("regex_block", "admin"),
    [
        (PHP, "location ^~ /admin/ {"),  # ^~ stops the regex search
        ("\n\tlocation ~ ^/api/ {\n\t\tproxy_pass http://127.0.0.1:8081;\n\t}\n", "location /admin/ {"),
        (
            PHP.replace("fastcgi_pass", 'auth_basic "x";\n\t\tauth_basic_user_file /etc/nginx/x;\n\t\tfastcgi_pass'),
            None,
        ),
        ("\n\tlocation ~ \\.php$ {\n\t\treturn 404;\n\t}\n", "location /admin/ {"),
    ],
    ids=["caret-tilde", "other-prefix", "regex-has-auth", "regex-refuses"],
)
def test_regex_locations_that_cannot_bypass_admin_auth_pass(make_facts, regex_block, admin):
    text = with_regex_location(regex_block, admin or "location /admin/ {")
    assert_status(run("AUTH-01", facts(make_facts, text=text)), Status.PASS)


def test_regex_nested_in_the_admin_location_keeps_its_auth(make_facts):
    nested = 'auth_basic "Restricted";\n\t\tlocation ~ \\.php$ {\n\t\t\tfastcgi_pass unix:/run/php/fpm.sock;\n\t\t}'
    text = replace('auth_basic "Restricted";', nested)(with_regex_location(PHP))
    assert_status(run("AUTH-01", facts(make_facts, text=text)), Status.PASS)


def test_unparsable_regex_location_is_ignored(make_facts):
    broken = "\n\tlocation ~ ^/(unclosed {\n\t\tproxy_pass http://127.0.0.1:8081;\n\t}\n"
    assert_status(run("AUTH-01", facts(make_facts, text=with_regex_location(broken))), Status.PASS)


# ----- TLS-01: ssl_protocols lines at one level add up (a bitmask) -------------------------------
DEBIAN_PROTOCOLS = "\tssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE\n"


def test_debian_stock_protocols_line_adds_to_the_hardened_one(make_facts):
    # Debian's nginx.conf keeps its own line in http; conf.d/*.conf adds 'TLSv1.2 TLSv1.3' at the same
    # level. ngx_conf_set_bitmask_slot ORs the two lines: TLS 1.0 and 1.1 stay enabled.
    text = replace("\tinclude /etc/nginx/conf.d/*.conf;", DEBIAN_PROTOCOLS + "\tinclude /etc/nginx/conf.d/*.conf;")(
        HARDENED
    )
    result = run("TLS-01", facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "accepts TLSv1, TLSv1.1" in result.message


def test_server_level_protocols_replace_the_http_ones(make_facts):
    # A level with its own ssl_protocols does not inherit: the server's line alone is in effect.
    text = replace("\tinclude /etc/nginx/conf.d/*.conf;", DEBIAN_PROTOCOLS + "\tinclude /etc/nginx/conf.d/*.conf;")(
        HARDENED
    )
    text = text.replace("\tserver_name _;\n", "\tserver_name _;\n\tssl_protocols TLSv1.2;\n\tssl_protocols TLSv1.3;\n")
    text = text.replace(
        "\tssl_certificate /etc/ssl/rampart/app.crt;",
        "\tssl_protocols TLSv1.3;\n\tssl_certificate /etc/ssl/rampart/app.crt;",
    )
    assert_status(run("TLS-01", facts(make_facts, text=text)), Status.PASS)


# ----- CRT: a served certificate that cannot be read is not half a pass ---------------------------
def two_certs(make_facts, good_days_left: float):
    gone = LEGACY_SERVER.replace("/etc/ssl/rampart/app.crt", "/etc/ssl/rampart/gone.crt")
    text = HARDENED.replace(
        "# configuration file /etc/nginx/rampart/", gone + "\n# configuration file /etc/nginx/rampart/", 1
    )
    leaf, _unused, _unused = make_cert(names=("app.example.test", "www.example.test"), days_left=good_days_left)
    return facts(make_facts, text=text, files={CERT: leaf})


def test_unreadable_certificate_beside_a_good_one_is_an_error(make_facts):
    result = run("CRT-01", two_certs(make_facts, good_days_left=60))
    assert_status(result, Status.ERROR)
    assert "/etc/ssl/rampart/gone.crt" in result.message
    assert any("60 days left" in line for line in result.evidence)  # what could be judged is still shown


def test_unreadable_certificate_beside_a_failing_one_still_fails(make_facts):
    result = run("CRT-01", two_certs(make_facts, good_days_left=-1))
    assert_status(result, Status.FAIL)
    assert any("gone.crt" in line for line in result.evidence)


def test_regex_location_under_the_same_allowlist_is_no_bypass(make_facts):
    # Server-level allowlist: the admin location and the regex location are equally restricted.
    text = replace("limit_conn rampart_conn 20;", "limit_conn rampart_conn 20;\n\tallow 10.0.0.0/8;\n\tdeny all;")(
        with_regex_location(PHP)
    )
    text = replace(AUTH_LINES, "")(text)
    assert_status(run("AUTH-01", facts(make_facts, text=text)), Status.PARTIAL)


def test_regex_location_escaping_the_admin_allowlist_fails(make_facts):
    result = run(
        "AUTH-01",
        facts(make_facts, text=replace(AUTH_LINES, "allow 10.0.0.0/8;\n\t\tdeny all;")(with_regex_location(PHP))),
    )
    assert_status(result, Status.FAIL)
    assert "without the address allowlist" in result.message
