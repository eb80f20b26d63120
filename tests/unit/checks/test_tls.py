"""TLS-01..10 against real nginx -T outputs (hardened lab, stock Debian) and mutations of them."""

from __future__ import annotations

import pytest
from check_helpers import (
    GARBAGE,
    HARDENED,
    INTERMEDIATE,
    LAB_PASSWD,
    STOCK,
    assert_status,
    fixture,
    lab_commands,
    nginx_facts,
    replace,
    run,
)

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

TLS_IDS = [f"TLS-{n:02d}" for n in range(1, 11)]
WEAK_CIPHERS = "HIGH:!aNULL:!MD5"


@pytest.mark.parametrize("check_id", TLS_IDS)
def test_hardened_lab_passes(make_facts, check_id):
    assert_status(run(check_id, nginx_facts(make_facts)), Status.PASS)


@pytest.mark.parametrize("check_id", TLS_IDS)
def test_no_nginx_is_not_applicable(make_facts, check_id):
    facts = make_facts(commands=lab_commands(nginx=None))
    assert_status(run(check_id, facts), Status.NOT_APPLICABLE)


@pytest.mark.parametrize("check_id", TLS_IDS)
@pytest.mark.parametrize(
    "output",
    [
        GARBAGE,
        HARDENED[: HARDENED.index("location /admin/") + 20],  # truncated mid-block
    ],
    ids=["garbage", "truncated"],
)
def test_malformed_nginx_output_is_an_error(make_facts, check_id, output):
    result = run(check_id, nginx_facts(make_facts, text=output))
    assert_status(result, Status.ERROR)
    assert "nginx" in result.message


@pytest.mark.parametrize(
    ("check_id", "mutation", "expected", "needle"),
    [
        (
            "TLS-01",
            replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.2 TLSv1.3;"),
            Status.FAIL,
            "TLSv1",
        ),
        ("TLS-01", replace("ssl_protocols TLSv1.2 TLSv1.3;", ""), Status.FAIL, "TLSv1.1"),  # 1.22 default
        ("TLS-02", replace(INTERMEDIATE, WEAK_CIPHERS), Status.FAIL, "weak suite"),
        ("TLS-03", replace("X25519:prime256v1", "prime256v1"), Status.FAIL, "X25519"),
        ("TLS-03", replace("ssl_session_tickets off;", ""), Status.FAIL, "session tickets"),
        ("TLS-04", replace("ssl_session_tickets off;", "ssl_conf_command Options Compression;"), Status.FAIL, "unsafe"),
        (
            "TLS-05",
            replace("return 301 https://$host$request_uri;", "proxy_pass http://127.0.0.1:8080;"),
            Status.FAIL,
            "plain HTTP",
        ),
        ("TLS-06", replace("\tssl_reject_handshake on;\n", ""), Status.FAIL, "answers unknown"),
        ("TLS-07", replace("server_tokens off;", ""), Status.FAIL, "server_tokens"),
        ("TLS-07", replace("location = /login {", "location = /login {\n\t\tautoindex on;"), Status.FAIL, "autoindex"),
        ("TLS-08", replace("user www-data;", "user root;"), Status.FAIL, "root"),
        (
            "TLS-10",
            replace(
                "proxy_pass http://127.0.0.1:8080;\n\t\tproxy_set_header",
                "proxy_pass http://93.184.215.14;\n\t\tproxy_set_header",
            ),
            Status.FAIL,
            "public",
        ),
        (
            "TLS-10",
            replace(
                "proxy_pass http://127.0.0.1:8080;\n\t\tproxy_set_header",
                "proxy_pass https://api.example.com;\n\t\tproxy_set_header",
            ),
            Status.PARTIAL,
            "DNS name",
        ),
        (
            "TLS-10",
            replace(
                "proxy_pass http://127.0.0.1:8080;\n\t\tproxy_set_header",
                "proxy_pass https://93.184.215.14;\n\t\tproxy_ssl_verify on;\n\t\tproxy_set_header",
            ),
            Status.PASS,
            "",
        ),
    ],
)
def test_mutations(make_facts, check_id, mutation, expected, needle):
    commands = {}
    if check_id == "TLS-02":
        commands = {("openssl", "ciphers", "-v", WEAK_CIPHERS): fixture("nginx/ciphers-default.txt")}
    facts = nginx_facts(make_facts, text=mutation(HARDENED), extra=commands)
    result = run(check_id, facts)
    assert_status(result, expected)
    assert needle in result.message + " ".join(result.evidence)


def test_modern_profile_makes_tls12_partial(make_facts):
    facts = nginx_facts(make_facts, files={"/etc/rampart/intent/nginx.json": '{"tls_profile": "modern"}'})
    assert_status(run("TLS-01", facts), Status.PARTIAL)


def test_missing_openssl_is_an_error(make_facts):
    facts = nginx_facts(make_facts)
    facts.runner.outputs.pop(("openssl", "ciphers", "-v", INTERMEDIATE))
    result = run("TLS-02", facts)
    assert_status(result, Status.ERROR)
    assert "openssl" in result.message


def test_stock_debian_site_fails_redirect_default_server_and_files(make_facts):
    facts = make_facts(
        commands=lab_commands(nginx=STOCK),
        files={"/etc/nginx/nginx.conf": "", "/etc/nginx/mime.types": "", "/etc/nginx/sites-enabled/default": ""},
    )
    assert_status(run("TLS-01", facts), Status.NOT_APPLICABLE)  # no TLS server at all
    assert_status(run("TLS-05", facts), Status.FAIL)
    assert_status(run("TLS-06", facts), Status.FAIL)
    assert_status(run("TLS-07", facts), Status.FAIL)
    result = run("TLS-09", facts)
    assert_status(result, Status.FAIL)
    assert "default site" in " ".join(result.evidence)


def test_group_writable_config_fails(make_facts):
    facts = nginx_facts(make_facts, files={"/etc/nginx/nginx.conf": ("user www-data;\n", 0o664)})
    result = run("TLS-09", facts)
    assert_status(result, Status.FAIL)
    assert "0664" in result.message


def test_login_shell_on_nginx_account_fails(make_facts):
    passwd = LAB_PASSWD.replace("/var/www:/usr/sbin/nologin", "/var/www:/bin/bash")
    result = run("TLS-08", nginx_facts(make_facts, files={"/etc/passwd": passwd}))
    assert_status(result, Status.FAIL)
    assert "login shell" in result.message


def test_weak_dh_parameters_fail(make_facts):
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import dh  # noqa: PLC0415

    # Build small parameters by hand (generation of 1024-bit params is slow): RFC 2409 group 2.
    prime = int(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
        16,
    )
    pem = (
        dh.DHParameterNumbers(prime, 2)
        .parameters()
        .parameter_bytes(serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3)
    )
    text = HARDENED.replace("ssl_session_tickets off;", "ssl_session_tickets off;\nssl_dhparam /etc/nginx/dh.pem;")
    facts = nginx_facts(make_facts, text=text, files={"/etc/nginx/dh.pem": pem.decode()})
    result = run("TLS-03", facts)
    assert_status(result, Status.FAIL)
    assert "1024 bits" in result.message
